"""Jingwang (净网) runtime: clean, segment and score crawled Chinese posts for three risks.

    from detector import Detector
    det = Detector.from_pretrained("models/default")
    det.score(["兼职刷单日结，加微信"])

`Detector` is loaded on first use (PEP 562), so `import detector.text.cleaning` stays light.
"""

__version__ = "0.1.0"
__all__ = ["Detector", "__version__"]


def __getattr__(name: str):
    if name == "Detector":
        from detector.model.core import Detector

        return Detector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
