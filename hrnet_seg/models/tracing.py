"""Whether a graph is being captured for export.

The ONNX exporter (``tools/export.py``) traces the model once, at one input size; Python
control flow on shapes (``if sizes differ: resize``) is frozen into the graph as the
branch taken at that size. Modules whose work depends on the input size take a
shape-free path while tracing (always resize, always pad: identities where nothing is
needed) so that one exported graph serves every size.
"""

import torch


def is_tracing() -> bool:
    """True while torch.onnx / torch.jit trace or torch.compile / torch.export capture."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()
