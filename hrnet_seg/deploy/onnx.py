"""ONNX export of a trained segmentor with its parity against torch, and the reading side
(an ONNX Runtime session with the model's metadata).

The exporter is torch.onnx's TorchScript tracer (``dynamo=False``): it exports HRNet and
OCR in seconds, where the torch.export-based exporter took minutes per model on CPU
(W18 FCN at 64x128: 3 s vs 90 s on this project's 2-core machine) and failed on a
dynamic batch traced at size 1. Traced graphs freeze Python control flow on shapes, so
the backbone takes its shape-free path while tracing (``models.hrnet._tracing``), and
parity is checked at two sizes (one not divisible by 32) through the one dynamic model.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..utils.atomic import fsync_and_replace
from .graph import INPUT_NAME, LABELS_NAME, LOGITS_NAME, InferenceGraph
from .metadata import build_metadata, preprocessing, read_metadata
from .model import DeployError, LoadedModel

#: The ONNX opset exported (supported by ONNX Runtime >= 1.12 and TensorRT >= 8.5).
OPSET = 17
#: Parity bounds: max |logit difference| relative to max |logit|, and argmax agreement.
MAX_RELATIVE_ERROR = 1e-4
MIN_ARGMAX_AGREEMENT = 0.9999


class DeployPackageMissing(DeployError, ModuleNotFoundError):
    pass


def require(module: str) -> object:
    """Import an optional deploy package or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DeployPackageMissing(
            f"{module} is not installed; it comes with the deploy extra: "
            "pip install -e '.[deploy]' (make install installs it)"
        ) from None


def align_corners_of(segmentor) -> bool:
    heads = segmentor.decode_head
    head = heads[-1] if isinstance(heads, torch.nn.ModuleList) else heads
    return bool(head.align_corners)


def inference_graph(loaded: LoadedModel, *, argmax: bool = False) -> InferenceGraph:
    pre = preprocessing(loaded.cfg)
    return InferenceGraph(
        loaded.segmentor,
        mean=pre["mean"],
        std=pre["std"],
        align_corners=align_corners_of(loaded.segmentor),
        argmax=argmax,
    ).eval()


def trace_to_onnx(
    graph: InferenceGraph,
    path: str,
    *,
    static_size: tuple[int, int] | None = None,
    trace_size: tuple[int, int] = (64, 128),
) -> None:
    """Trace ``graph`` into an ONNX file: dynamic batch, height and width unless
    ``static_size``. The one export call of ``tools/export.py`` and the benchmark."""
    h, w = static_size or trace_size
    # Two images: a batch traced at 1 can be specialised to 1 by the tracer's shape logic.
    example = torch.zeros((2 if static_size is None else 1, h, w, 3), dtype=torch.uint8)
    output = LABELS_NAME if graph.argmax else LOGITS_NAME
    dynamic = None
    if static_size is None:
        spatial = (1, 2) if graph.argmax else (2, 3)
        dynamic = {
            INPUT_NAME: {0: "batch", 1: "height", 2: "width"},
            output: {0: "batch", spatial[0]: "height", spatial[1]: "width"},
        }
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's notes on shape arithmetic and the exporter's deprecation notice.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (example,),
            path,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[output],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
        )


def export_onnx(
    loaded: LoadedModel,
    out: str,
    *,
    argmax: bool = False,
    static_size: tuple[int, int] | None = None,
    trace_size: tuple[int, int] = (64, 128),
) -> dict[str, str]:
    """Export ``loaded``'s whole-image inference to ``out`` (written atomically); returns
    the metadata stored in it. Dynamic batch, height and width unless ``static_size``."""
    onnx = require("onnx")
    if loaded.cfg.model.get("type") == "SegTTAModel":
        raise DeployError(
            "mode 'tta' cannot be exported: the graph is one whole-image pass; export "
            "in mode 'whole'; multi-scale + flip runs from the checkpoint: "
            "Segmenter(config, checkpoint, mode='tta')"
        )
    graph = inference_graph(loaded, argmax=argmax).to("cpu")
    tmp = f"{out}.tmp"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(tmp, "wb"):
            pass  # writable? (before minutes of tracing, not after)
    except OSError as exc:
        raise DeployError(f"Cannot write {out}: {exc.strerror or exc}") from None
    try:
        try:
            trace_to_onnx(graph, tmp, static_size=static_size, trace_size=trace_size)
        except (RuntimeError, torch.onnx.errors.OnnxExporterError) as exc:
            raise DeployError(
                f"Cannot export {loaded.config_path}: {_first_line(exc)}"
                + _static_hint(exc, static_size)
            ) from None
        if static_size is None:
            _check_other_size(loaded, graph, tmp, trace_size)
        model = onnx.load(tmp)
        metadata = build_metadata(
            loaded.cfg,
            config_path=loaded.config_path,
            checkpoint_path=loaded.checkpoint_path,
            align_corners=graph.align_corners,
            num_classes=graph.num_classes,
            argmax=argmax,
            static_size=static_size,
            opset=OPSET,
            exporter=f"torch.onnx (TorchScript tracer), torch {torch.__version__}",
        )
        onnx.helper.set_model_props(model, metadata)
        onnx.save(model, tmp)
        fsync_and_replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return metadata


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _static_hint(exc: BaseException, static_size) -> str:
    if "adaptive pooling" in str(exc):
        # Lite-HRNet's cross-resolution weighting pools every branch to the smallest one's
        # size; ONNX pools only by fixed windows, which needs a static size whose
        # branches divide evenly.
        return (
            ". The model pools adaptively to a size that depends on the input, which "
            "ONNX cannot express"
            + ("" if static_size else " with a dynamic size")
            + ": export with --static H W, H and W multiples of 32 (e.g. --static 512 1024)"
        )
    return ""


def _check_other_size(loaded: LoadedModel, graph, path: str, trace_size) -> None:
    """A dynamic graph must compute the model at sizes other than the traced one: a
    shape test frozen by the tracer would make it fail or, worse, be wrong there. Checked
    at the traced size + 8 (not a multiple of 32) before the file is kept."""
    size = (trace_size[0] + 8, trace_size[1] + 8)
    try:
        (parity,) = check_parity(loaded, path, [size], graph=graph)
    except Exception as exc:  # ONNX Runtime's errors for a graph that cannot run there
        raise DeployError(
            f"Cannot export {loaded.config_path} with a dynamic size: the graph traced at "
            f"{trace_size[0]}x{trace_size[1]} fails at {size[0]}x{size[1]} "
            f"({_first_line(exc)[:200]}); export with --static H W"
        ) from None
    if not parity.ok:
        raise DeployError(
            f"Cannot export {loaded.config_path} with a dynamic size: the graph traced at "
            f"{trace_size[0]}x{trace_size[1]} is wrong at {parity.line()}; export with "
            "--static H W"
        )


@dataclass(frozen=True)
class Parity:
    """ONNX Runtime against torch on the same input at one size."""

    size: tuple[int, int]
    max_abs_error: float
    max_abs_logit: float
    argmax_agreement: float

    @property
    def relative_error(self) -> float:
        return self.max_abs_error / max(self.max_abs_logit, 1e-12)

    @property
    def ok(self) -> bool:
        return (
            self.relative_error <= MAX_RELATIVE_ERROR
            and self.argmax_agreement >= MIN_ARGMAX_AGREEMENT
        )

    def line(self) -> str:
        verdict = "ok" if self.ok else "FAILED"
        return (
            f"{self.size[0]}x{self.size[1]}: max |dlogit| {self.max_abs_error:.3g} = "
            f"{self.relative_error:.2e} x max |logit| {self.max_abs_logit:.3g} "
            f"(bound {MAX_RELATIVE_ERROR:g}), argmax agreement "
            f"{100 * self.argmax_agreement:.4f} % (bound {100 * MIN_ARGMAX_AGREEMENT:g} %): "
            f"{verdict}"
        )


def parity_image(size: tuple[int, int], *, seed: int = 0) -> np.ndarray:
    """A seeded RGB test image of ``size``: smooth regions (noise drawn at 1/8 of the
    size, resized up) plus pixel noise, so that the logits vary as on a photograph."""
    import cv2

    h, w = size
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(max(1, h // 8), max(1, w // 8), 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    noisy = smooth + rng.normal(0, 12, size=(h, w, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def check_parity(
    loaded: LoadedModel,
    onnx_path: str,
    sizes: Sequence[tuple[int, int]],
    *,
    seed: int = 0,
    graph: InferenceGraph | None = None,
) -> list[Parity]:
    """Run the exported model and the torch graph on the same images: logits, or for a
    ``--argmax`` model its labels against torch's (the logit error then reads 0)."""
    import onnxruntime as ort

    graph = graph or inference_graph(loaded).to("cpu")
    options = ort.SessionOptions()
    options.log_severity_level = 4
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    results = []
    for i, size in enumerate(sizes):
        image = parity_image(size, seed=seed + i)[None]
        with torch.no_grad():
            ref = graph(torch.from_numpy(image)).numpy()
        out = session.run(None, {INPUT_NAME: image})[0]
        if graph.argmax:
            agreement = float((out == ref).mean())
            results.append(Parity(tuple(size), 0.0, 1.0, agreement))
            continue
        results.append(
            Parity(
                size=tuple(size),
                max_abs_error=float(np.abs(out - ref).max()),
                max_abs_logit=float(np.abs(ref).max()),
                argmax_agreement=float((out.argmax(1) == ref.argmax(1)).mean()),
            )
        )
    return results


class OnnxModel:
    """An exported model in ONNX Runtime, with its metadata (``meta``)."""

    def __init__(self, path: str, *, providers: Sequence[str] | None = None) -> None:
        ort = require("onnxruntime")
        if not os.path.isfile(path):
            raise DeployError(f"ONNX model not found: {path!r}")
        try:
            options = ort.SessionOptions()
            options.log_severity_level = 3
            self.session = ort.InferenceSession(
                path, options, providers=list(providers or ["CPUExecutionProvider"])
            )
        except Exception as exc:  # onnxruntime raises its own classes for bad files
            raise DeployError(f"Cannot load ONNX model {path!r}: {exc}".strip()) from None
        props = self.session.get_modelmeta().custom_metadata_map
        self.meta = read_metadata(props, path=path)
        self.path = path

    def run(self, images: np.ndarray) -> np.ndarray:
        """``images``: N x H x W x 3 uint8 RGB; the logits (N x C x H x W) or labels."""
        return self.session.run(None, {INPUT_NAME: np.ascontiguousarray(images)})[0]
