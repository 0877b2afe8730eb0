"""Compatibility shims that let the OpenMMLab stack import on a current torch.

Everything here is applied once, by ``import hrnet_seg``, and each shim steps aside
when the real thing is installed.
"""

from .mmcv_ops import MissingCompiledOpError, install_mmcv_ext_standin
from .mmseg_losses import fix_weighted_cross_entropy

__all__ = [
    "MissingCompiledOpError",
    "fix_weighted_cross_entropy",
    "install_mmcv_ext_standin",
]
