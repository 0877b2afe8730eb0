"""Evaluation: the confusion matrix and its scores, the distributed mmengine metric,
official-format prediction export, and scoring a folder of predictions.

Plain code, usable from any script; importing it registers ``ConfusionMatrixMetric``
into mmseg's ``METRICS``.
"""

from .confusion import confusion_matrix, format_table, nan_to_none, summarize
from .export import (
    UnreadableLabelMapError,
    cityscapes_prediction_name,
    read_label_png,
    read_prediction,
    reduce_zero_label,
    write_ade20k_prediction,
    write_cityscapes_prediction,
)
from .folder import (
    InvalidInputError,
    MissingFileError,
    SizeMismatchError,
    class_names,
    evaluate_folder,
    find_pairs,
)
from .metric import ConfusionMatrixMetric

__all__ = [
    "ConfusionMatrixMetric",
    "InvalidInputError",
    "MissingFileError",
    "SizeMismatchError",
    "UnreadableLabelMapError",
    "cityscapes_prediction_name",
    "class_names",
    "confusion_matrix",
    "evaluate_folder",
    "find_pairs",
    "format_table",
    "nan_to_none",
    "read_label_png",
    "read_prediction",
    "reduce_zero_label",
    "summarize",
    "write_ade20k_prediction",
    "write_cityscapes_prediction",
]
