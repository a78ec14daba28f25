"""Jingwang (净网) runtime: clean, segment and score crawled Chinese posts for three risks."""

__version__ = "0.1.0"
