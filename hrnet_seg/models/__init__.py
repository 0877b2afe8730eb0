"""Models: the HRNet backbone (registered into mmseg's ``MODELS``), its architecture
table, checkpoint loading and conversion."""

from .arch import HRNET_ARCHS, HRNetArch, StageSpec, resolve_arch
from .heads import HRNetV2FCNHead, HRNetV2OCRHead, resize_concat
from .hrnet import HighResolutionModule, HighResolutionNet
from .pretrained import (
    CheckpointMismatchError,
    LoadReport,
    PretrainedNotFoundError,
    load_backbone_weights,
)

__all__ = [
    "HRNET_ARCHS",
    "CheckpointMismatchError",
    "HRNetArch",
    "HRNetV2FCNHead",
    "HRNetV2OCRHead",
    "HighResolutionModule",
    "HighResolutionNet",
    "LoadReport",
    "PretrainedNotFoundError",
    "StageSpec",
    "load_backbone_weights",
    "resize_concat",
    "resolve_arch",
]

from .sync_bn import SyncBNFallbackWarning, fallback_sync_bn  # noqa: E402

__all__ += ["SyncBNFallbackWarning", "fallback_sync_bn"]

from .builder import build_segmentor  # noqa: E402

__all__ += ["build_segmentor"]

from .lite_hrnet import (  # noqa: E402
    LITE_HRNET_ARCHS,
    LiteHighResolutionNet,
    LiteHRNetArch,
    resolve_lite_arch,
)

__all__ += ["LITE_HRNET_ARCHS", "LiteHRNetArch", "LiteHighResolutionNet", "resolve_lite_arch"]

from .hrformer import (  # noqa: E402
    HRFORMER_ARCHS,
    HighResolutionTransformer,
    HRFormerArch,
    resolve_hrformer_arch,
)

__all__ += ["HRFORMER_ARCHS", "HRFormerArch", "HighResolutionTransformer", "resolve_hrformer_arch"]
