"""hrnet_seg: HRNet semantic segmentation on the OpenMMLab stack.

Importing the package makes mmseg importable with mmcv-lite (see
:mod:`hrnet_seg.compat`) and registers the HRNet backbone into mmseg's ``MODELS``.
"""

import importlib.util as _importlib_util

if _importlib_util.find_spec("mmcv") is None:  # pragma: no cover - install problem
    raise ImportError(
        "hrnet_seg needs mmcv, and none is installed. Install the project with one "
        "mmcv flavour: `pip install -e '.[lite]'` (mmcv-lite, the default) or "
        "`make install MMCV=full` (mmcv with compiled ops)."
    )

from .compat import install_mmcv_ext_standin as _install_mmcv_ext_standin  # noqa: E402

_install_mmcv_ext_standin()

# Register the backbone, datasets, metric, runner and hooks into mmseg's registries.
from . import datasets, engine, evaluation, launch, models  # noqa: E402,F401
from .compat import fix_weighted_cross_entropy as _fix_weighted_cross_entropy  # noqa: E402

_fix_weighted_cross_entropy()  # mmseg's PIDNet / DDRNet configs train (compat/mmseg_losses.py)

__version__ = "0.1.0"


def __getattr__(name: str):
    # `from hrnet_seg import Segmenter`, without importing the deploy code for every tool.
    if name == "Segmenter":
        from .deploy import Segmenter

        return Segmenter
    raise AttributeError(f"module 'hrnet_seg' has no attribute {name!r}")
