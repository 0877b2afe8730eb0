"""Datasets: the known formats, layout checks, the checked Cityscapes / ADE20K datasets,
data roots, and the built-in data generator."""

from .checked import (
    CheckedADE20KDataset,
    CheckedCityscapesDataset,
    CorruptFileError,
    LabelValueError,
)
from .data_root import ENV_VAR, apply_data_root
from .formats import ADE20K, CITYSCAPES, FORMATS, format_of
from .layout import DatasetLayoutError, check_split

__all__ = [
    "ADE20K",
    "CITYSCAPES",
    "ENV_VAR",
    "FORMATS",
    "CheckedADE20KDataset",
    "CheckedCityscapesDataset",
    "CorruptFileError",
    "DatasetLayoutError",
    "LabelValueError",
    "apply_data_root",
    "check_split",
    "format_of",
]
