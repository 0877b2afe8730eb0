"""Engine: the Runner and its hooks."""

from . import hooks  # noqa: F401  (registers the hooks)
from .runner import SegRunner

__all__ = ["SegRunner"]
