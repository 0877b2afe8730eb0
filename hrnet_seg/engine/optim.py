"""bf16 mixed precision on any device, for ``tools/train.py --amp``.

mmengine's ``AmpOptimWrapper`` requires CUDA and always carries a loss scaler. bf16
has float32's exponent range, so it needs no loss scaling, and torch autocasts to
bf16 on CPU as well as on GPUs: this wrapper only enters ``torch.autocast``.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.device import get_device
from mmengine.optim import OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS

_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward passes run under ``torch.autocast``.

    Args:
        dtype: ``'bfloat16'`` (default). fp16 needs loss scaling: use mmengine's
            ``AmpOptimWrapper`` for it.
    """

    def __init__(self, *, dtype: str = "bfloat16", **kwargs) -> None:
        if dtype != "bfloat16":
            raise ValueError(
                f"AutocastOptimWrapper dtype: only 'bfloat16' (no loss scaling), got {dtype!r}; "
                "use type='AmpOptimWrapper' for float16"
            )
        super().__init__(**kwargs)
        self.dtype = _DTYPES[dtype]

    @contextmanager
    def optim_context(self, model):
        device_type = "cuda" if get_device() == "cuda" else "cpu"
        with (
            super().optim_context(model),
            torch.autocast(device_type=device_type, dtype=self.dtype),
        ):
            yield
