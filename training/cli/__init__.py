"""The training side's `jingwang` commands: train, evaluate, benchmark, retrain, data, model.
`register` is the `jingwang.commands` entry point that `detector.cli.build_app` calls."""
from __future__ import annotations


def register() -> None:
    """Import the command modules: each registers its commands on `detector.cli._app.app`."""
    from training.cli import commands, model, retrain  # noqa: F401


def app():
    """The whole `jingwang` app (runtime and training commands)."""
    from detector.cli import build_app

    return build_app()
