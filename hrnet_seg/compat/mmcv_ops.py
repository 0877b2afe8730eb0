"""A stand-in for mmcv's compiled extension (``mmcv._ext``) when mmcv-lite is installed.

``import mmseg.models`` imports ``mmcv.ops`` unconditionally (mask classification,
point_sample, focal loss, SAN head), and every ``mmcv.ops`` module loads its kernels
from ``mmcv._ext`` at import time. mmcv-lite ships no ``_ext``, so mmseg does not
import at all, although nothing on the HRNet / FCN / OCR path calls a compiled op.

The stand-in answers every attribute with a function that raises
:class:`MissingCompiledOpError` only when it is *called*, so importing works and a
model that really needs a kernel fails with a message that says how to get it.
A real compiled ``mmcv._ext`` always wins: the stand-in is installed only when the
import system cannot find one.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types

from ..errors import UserError

FULL_MMCV_HINT = (
    "Install full mmcv with compiled ops instead of mmcv-lite: "
    "`make install MMCV=full` (or see the README section 'Full mmcv with compiled ops')."
)


class MissingCompiledOpError(UserError, RuntimeError):
    """A compiled mmcv op was called, but only mmcv-lite (no ``mmcv._ext``) is installed."""


class _StandInExt(types.ModuleType):
    """Module object whose attributes are ops that raise when called."""

    is_standin = True

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)

        def missing_op(*args, **kwargs):
            raise MissingCompiledOpError(
                f"mmcv compiled op '{name}' is not available: this environment has "
                f"mmcv-lite, which ships no compiled extension (mmcv._ext). HRNet, FCN "
                f"and OCR do not need it; the model you built does. {FULL_MMCV_HINT}"
            )

        missing_op.__name__ = name
        missing_op.__qualname__ = f"mmcv._ext.{name}"
        return missing_op


def install_mmcv_ext_standin() -> bool:
    """Register the stand-in as ``mmcv._ext`` unless a real one exists.

    Returns True when the stand-in was installed by this call.
    """
    existing = sys.modules.get("mmcv._ext")
    if existing is not None:
        return False
    try:
        spec = importlib.util.find_spec("mmcv._ext")
    except ModuleNotFoundError:
        # mmcv itself is missing: hrnet_seg.__init__ reports that with install advice.
        return False
    if spec is not None:
        return False  # a real compiled extension is installed: never shadow it
    module = _StandInExt("mmcv._ext", "Stand-in for mmcv's compiled ops (mmcv-lite).")
    # loader=None: mmcv.ops.info.check_ops_exist() and pkgutil.find_loader() then
    # correctly report that no compiled ops exist.
    module.__spec__ = importlib.machinery.ModuleSpec("mmcv._ext", loader=None)
    sys.modules["mmcv._ext"] = module
    # `import mmcv._ext` then `mmcv._ext.x` needs the attribute on the package too.
    sys.modules["mmcv"]._ext = module
    return True
