import textwrap

import pytest
import torch

from hrnet_seg.compat import MissingCompiledOpError, install_mmcv_ext_standin
from tests.conftest import run_python


def test_mmseg_models_import_with_mmcv_lite():
    result = run_python("-c", "import hrnet_seg, mmseg.models; print('ok')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_without_hrnet_seg_mmseg_does_not_import():
    # The reason the compatibility layer exists; if this starts passing, the stack
    # changed and the layer can go.
    result = run_python("-c", "import mmseg.models")
    assert result.returncode != 0
    assert "No module named 'mmcv._ext'" in result.stderr


def test_missing_compiled_op_raises_only_when_called():
    from mmcv.ops import nms  # imports fine: the stand-in answers every op

    with pytest.raises(MissingCompiledOpError) as info:
        nms(torch.rand(3, 4), torch.rand(3), 0.5)
    assert str(info.value) == (
        "mmcv compiled op 'nms' is not available: this environment has mmcv-lite, which "
        "ships no compiled extension (mmcv._ext). HRNet, FCN and OCR do not need it; the "
        "model you built does. Install full mmcv with compiled ops instead of mmcv-lite: "
        "`make install MMCV=full` (or see the README section 'Full mmcv with compiled ops')."
    )


def test_standin_reports_that_no_compiled_ops_exist():
    import mmcv._ext
    from mmcv.utils.ext_loader import check_ops_exist

    assert getattr(mmcv._ext, "is_standin", False)
    assert check_ops_exist() is False
    assert install_mmcv_ext_standin() is False  # already installed: idempotent


def test_real_compiled_mmcv_always_wins(tmp_path):
    # A stand-in for a real compiled extension, found through mmcv's package path the
    # way a full mmcv install would be.
    (tmp_path / "_ext.py").write_text(
        "def nms(*args):\n"
        "    return 'real kernel'\n"
        "def __getattr__(name):  # every other kernel of a full build\n"
        "    return lambda *args: name\n"
    )
    script = textwrap.dedent(
        f"""
        import mmcv
        mmcv.__path__.append({str(tmp_path)!r})
        import hrnet_seg, mmcv._ext
        assert type(mmcv._ext).__name__ != '_StandInExt', 'stand-in shadowed the real _ext'
        assert mmcv._ext.__file__.startswith({str(tmp_path)!r})
        print(mmcv._ext.nms())
        """
    )
    result = run_python("-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "real kernel"
