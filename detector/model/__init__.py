"""The model: `Detector` (load, score, save; detector.model.core), flagging, subtypes, cascade.

`from detector.model import Detector` loads it on first use (PEP 562), so importing
`detector.model.flagging` alone stays light."""

__all__ = ["Detector"]


def __getattr__(name: str):
    if name == "Detector":
        from detector.model.core import Detector

        return Detector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
