"""The `jingwang` console script. The runtime commands are the modules of this package, one per
command group, imported here (the one place that lists them); commands of other installed parts
(the training side: `training.cli`) join through the `jingwang.commands` entry point group, so
the runtime never imports them and installs without them."""
from __future__ import annotations

from importlib.metadata import entry_points

from detector.cli import campaigns, models, operations, review, score  # noqa: F401  (register commands)
from detector.cli._app import app

ENTRY_POINTS = "jingwang.commands"
_added = False


def build_app():
    """`app` with every command: the runtime's, and those of each `jingwang.commands` entry point
    (a function called once, which registers its commands on `detector.cli._app.app`)."""
    global _added
    if not _added:
        _added = True
        for ep in entry_points(group=ENTRY_POINTS):
            ep.load()()
    return app


def main() -> None:
    build_app()()
