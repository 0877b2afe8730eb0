"""Deploy tests need the deploy extra (make install installs it)."""

import pytest

pytest.importorskip("onnxruntime", reason="the deploy extra: pip install -e '.[deploy]'")
pytest.importorskip("onnx", reason="the deploy extra: pip install -e '.[deploy]'")
