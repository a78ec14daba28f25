"""The training side's command groups, each defined once, on the `jingwang` app."""
from __future__ import annotations

from detector.cli._app import app, sub_app

data_app = sub_app("Datasets: pull copies, check sha256.")
app.add_typer(data_app, name="data")
model_app = sub_app("Base encoders and model exports.")
app.add_typer(model_app, name="model")
