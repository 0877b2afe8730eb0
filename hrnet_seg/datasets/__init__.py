"""Datasets: layout checks, the checked Cityscapes / ADE20K datasets, data roots, and
the built-in data generator."""

from .checked import (
    CheckedADE20KDataset,
    CheckedCityscapesDataset,
    CorruptFileError,
    LabelValueError,
)
from .data_root import ENV_VAR, apply_data_root
from .layout import ADE20K, CITYSCAPES, DatasetLayoutError, check_split

__all__ = [
    "ADE20K",
    "CITYSCAPES",
    "ENV_VAR",
    "CheckedADE20KDataset",
    "CheckedCityscapesDataset",
    "CorruptFileError",
    "DatasetLayoutError",
    "LabelValueError",
    "apply_data_root",
    "check_split",
]
