"""Every table the runtime reads, shipped inside the package (a wheel carries them): the
user dictionary for segmentation, the lexicons, the depinyin word list."""
from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent


def resource(name: str) -> Path:
    """The packaged file `name` (e.g. "userdict.txt")."""
    return RESOURCES / name
