"""Engine: the Runner and its hooks."""

from .runner import SegRunner

__all__ = ["SegRunner"]
