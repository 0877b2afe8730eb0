"""Engine: the Runner and its hooks."""

from . import hooks, optim  # noqa: F401  (registers the hooks and optim wrapper)
from .runner import SegRunner

__all__ = ["SegRunner"]
