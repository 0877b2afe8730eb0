"""The model, data and schedule facts of a run, read from its resolved config: written
into ``results.json`` by the engine and rebuilt from a W&B run's config by the
leaderboard, by this one function."""

from __future__ import annotations

import os.path as osp


def _heads(model_cfg) -> list[str]:
    heads = model_cfg.get("decode_head")
    heads = heads if isinstance(heads, list) else [heads]
    return [h["type"] for h in heads if h]


def inference_mode(cfg) -> str:
    """``tta`` (tools/test.py --tta), else the segmentor's ``test_cfg.mode``: ``whole``
    (mmseg's default) or ``slide``."""
    model = cfg.model
    if "module" in model:  # tools/test.py --tta wraps the segmentor in SegTTAModel
        return "tta"
    return (model.get("test_cfg") or {}).get("mode") or "whole"


def run_metadata(cfg, *, world_size: int, device: str) -> dict:
    """Model, data and schedule facts of a run, from its resolved config."""
    model = cfg.model
    tta = "module" in model  # tools/test.py --tta wraps the segmentor in SegTTAModel
    if tta:
        model = model["module"]
    loader = cfg.get("train_dataloader") or cfg.get("test_dataloader") or {}
    dataset = loader.get("dataset", {})
    batch = loader.get("batch_size")
    name = osp.splitext(osp.basename(cfg.filename))[0] if cfg.filename else None
    backbone = model.get("backbone", {})
    return {
        "config": name,
        "model": {
            "segmentor": model.get("type"),
            "backbone": backbone.get("type"),
            "arch": backbone.get("arch") if isinstance(backbone.get("arch"), str) else "custom",
            "heads": _heads(model),
            "pretrained": backbone.get("pretrained"),
        },
        "dataset": dataset.get("type"),
        "data_root": dataset.get("data_root"),
        "crop": list(model.get("data_preprocessor", {}).get("size") or []) or None,
        "iterations": cfg.get("train_cfg", {}).get("max_iters"),
        "batch_per_gpu": batch,
        "batch_total": batch * world_size if batch else None,
        "world_size": world_size,
        "device_type": device,
        "tta": tta,
        "mode": inference_mode(cfg),
        "amp": cfg.get("optim_wrapper", {}).get("type")
        in ("AmpOptimWrapper", "AutocastOptimWrapper"),
    }
