"""Deploying a trained segmentor: ONNX export with parity checks (:mod:`.onnx`), the
exported inference graph (:mod:`.graph`), its metadata (:mod:`.metadata`) and the
inference API :class:`Segmenter` for images, folders and video (:mod:`.segmenter`)."""

from .model import DeployError, load_model
from .segmenter import Segmenter

__all__ = ["DeployError", "Segmenter", "load_model"]
