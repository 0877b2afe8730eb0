"""Data-parallel scaling: the same short training step on every rank of a process group,
timed for each way of communicating gradients (fp32 or the bf16 compression hook; bucket
sizes), so that runs on 1 and on 2 nodes can be compared (``tools/benchmark_ddp.py``).

Per variant, every rank times, in alternating rounds:

* ``step``: a real DDP training step (data preprocessor, loss, backward with the bucketed
  gradient all-reduce overlapping it, SGD step);
* ``compute``: the same step under ``no_sync()`` (no communication at all);
* ``allreduce``: one all-reduce of a flat tensor the size of all gradients, in the
  dtype that goes over the wire (what the step communicates, without any overlap).

Each sample is the slowest rank's time (ranks start each sample together). ``step -
compute`` is the communication the backward pass did not hide; ``compute / step`` is the
step's efficiency against a world without communication.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper

from ..engine.ddp import COMM_HOOKS, register_comm_hook, wrapper_cfg
from ..errors import UserError
from .models import build, num_classes, train_pipeline
from .timing import median, synthetic_batch


class VariantError(UserError, ValueError):
    """A --variants entry that is not PRECISION:BUCKET_MB."""


@dataclass(frozen=True)
class Variant:
    """How gradients travel: ``comm_hook`` None (fp32) or "bf16_compress", in buckets of
    ``bucket_cap_mb`` MB."""

    comm_hook: str | None
    bucket_cap_mb: float

    @property
    def name(self) -> str:
        precision = "fp32" if self.comm_hook is None else self.comm_hook.split("_")[0]
        return f"{precision} grads, {self.bucket_cap_mb:g} MB buckets"

    @property
    def wire_dtype(self) -> torch.dtype:
        return {None: torch.float32, "bf16_compress": torch.bfloat16}.get(
            self.comm_hook, torch.float16
        )

    @classmethod
    def parse(cls, text: str) -> Variant:
        """``fp32:25`` or ``bf16:100`` (precision on the wire : bucket size in MB)."""
        precision, _, cap = text.partition(":")
        hooks = {"fp32": None, **{h.split("_")[0]: h for h in COMM_HOOKS}}
        try:
            bucket = float(cap)
        except ValueError:
            bucket = -1.0
        if precision not in hooks or not bucket > 0:
            raise VariantError(
                f"--variants {text!r}: expected PRECISION:BUCKET_MB with PRECISION one of "
                f"{', '.join(hooks)} and BUCKET_MB > 0, e.g. fp32:25 bf16:100"
            )
        return cls(comm_hook=hooks[precision], bucket_cap_mb=bucket)


def init_process_group(launcher: str, dist_cfg) -> torch.device:
    """Join the job's process group: ``pytorch`` (torchrun's variables) or ``slurm``
    (``srun``: Slurm's variables, as ``tools/train.py --launcher slurm``); NCCL on GPUs,
    gloo on CPUs, with the config's collective timeout. Returns this rank's device."""
    from ..engine.ddp import process_group_kwargs
    from ..engine.runner import slurm_env_to_torch

    if launcher == "slurm":
        slurm_env_to_torch()
    cuda = torch.cuda.is_available()
    dist.init_process_group(backend="nccl" if cuda else "gloo",
                            **process_group_kwargs(dist_cfg))  # fmt: skip
    if not cuda:
        return torch.device("cpu")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    torch.cuda.set_device(device)
    return device


def _ddp_model(cfg: Config, variant: Variant, *, crop, device) -> MMDistributedDataParallel:
    torch.manual_seed(0)  # the same initial weights on every rank and for every variant
    module = build(cfg, channels_last=cfg.get("channels_last", True), crop=crop).to(device)
    settings = Config(dict(ddp_bucket_cap_mb=variant.bucket_cap_mb))
    kwargs = {k: v for k, v in wrapper_cfg(settings, device=device.type).items() if k != "type"}
    if device.type == "cuda":
        kwargs["device_ids"] = [device.index]
    model = MMDistributedDataParallel(module=module, **kwargs)
    register_comm_hook(model, variant.comm_hook)
    return model.train()


def _slowest(seconds: float, device) -> float:
    value = torch.tensor([seconds], dtype=torch.float64, device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return float(value.item())


def _timed(fn, device) -> float:
    dist.barrier()  # every rank starts the sample together
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return _slowest(time.perf_counter() - start, device)


def measure(
    cfg: Config,
    variants: list[Variant],
    *,
    batch: int,
    crop: tuple[int, int],
    steps: int,
    rounds: int,
    warmup: int,
    device: torch.device,
) -> dict:
    """Time every variant on this process group (all ranks call it); the record of the
    run with each variant's medians (seconds)."""
    if not dist.is_initialized():
        raise RuntimeError("measure() needs an initialised process group")
    rank, world = dist.get_rank(), dist.get_world_size()
    hosts = [None] * world
    dist.all_gather_object(hosts, socket.gethostname())
    models = {v: _ddp_model(cfg, v, crop=crop, device=device) for v in variants}
    first = next(iter(models.values())).module
    data = synthetic_batch(pipeline=train_pipeline(cfg), batch=batch, crop=crop,
                           num_classes=num_classes(first), device=device, seed=rank)  # fmt: skip
    optims = {
        v: OptimWrapper(torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9))
        for v, m in models.items()
    }
    numel = sum(p.numel() for p in first.parameters() if p.requires_grad)

    def step(v: Variant, sync: bool):
        model = models[v]
        if sync:
            return lambda: model.train_step(data, optims[v])

        def local():
            with model.no_sync():
                model.train_step(data, optims[v])

        return local

    def allreduce(v: Variant):
        flat = torch.zeros(numel, dtype=v.wire_dtype, device=device)
        return lambda: dist.all_reduce(flat)

    for v in variants:
        for _ in range(warmup):
            step(v, True)()
            step(v, False)()
            allreduce(v)()
    samples = {v: {"step": [], "compute": [], "allreduce": []} for v in variants}
    # Alternate the variants round by round: drifts of a shared machine hit all alike.
    for _ in range(rounds):
        for v in variants:
            for _ in range(steps):
                samples[v]["step"].append(_timed(step(v, True), device))
                samples[v]["compute"].append(_timed(step(v, False), device))
                samples[v]["allreduce"].append(_timed(allreduce(v), device))
    rows = []
    for v in variants:
        s = {k: median(x) for k, x in samples[v].items()}
        rows.append(
            dict(
                name=v.name,
                comm_hook=v.comm_hook,
                bucket_cap_mb=v.bucket_cap_mb,
                grad_mb=round(numel * torch.finfo(v.wire_dtype).bits / 8 / 1e6, 2),
                step_s=round(s["step"], 4),
                compute_s=round(s["compute"], 4),
                exposed_comm_s=round(max(0.0, s["step"] - s["compute"]), 4),
                allreduce_s=round(s["allreduce"], 4),
                comm_efficiency=round(s["compute"] / s["step"], 3) if s["step"] else None,
                img_per_s=round(batch * world / s["step"], 3) if s["step"] else None,
                step_range_s=[round(min(samples[v]["step"]), 4), round(max(samples[v]["step"]), 4)],
            )
        )
    return dict(
        world_size=world,
        nodes=len(set(hosts)),
        hosts=hosts,
        batch_per_rank=batch,
        crop=list(crop),
        params=numel,
        threads_per_rank=torch.get_num_threads(),
        device=device.type,
        steps=steps,
        rounds=rounds,
        link=os.environ.get("HRNET_SEG_LINK"),
        variants=rows,
    )


def table(record: dict) -> str:
    """One run's figures, one line per variant."""
    head = (f"{record['world_size']} ranks on {record['nodes']} node(s), batch "
            f"{record['batch_per_rank']} per rank at {record['crop'][0]}x{record['crop'][1]}, "
            f"{record['params'] / 1e6:.2f} M params")  # fmt: skip
    lines = [head, f"{'variant':<30} {'MB':>7} {'step':>8} {'compute':>8} {'exposed':>8} "
                   f"{'allred.':>8} {'eff':>5}"]  # fmt: skip
    for r in record["variants"]:
        lines.append(
            f"{r['name']:<30} {r['grad_mb']:>7.1f} {r['step_s']:>7.3f}s {r['compute_s']:>7.3f}s "
            f"{r['exposed_comm_s']:>7.3f}s {r['allreduce_s']:>7.3f}s {r['comm_efficiency']:>5.2f}"
        )
    return "\n".join(lines)


def scaling_table(records: list[dict]) -> str:
    """Each variant across runs: step time, all-reduce time, and the scaling efficiency of
    every run against the first (images per second per rank, relative)."""
    base = records[0]
    lines = [
        f"{'variant':<30} {'ranks x nodes':>13} {'step':>8} {'exposed':>8} {'allred.':>8} "
        f"{'img/s':>7} {'scaling eff':>11}"
    ]
    for i, row in enumerate(base["variants"]):
        for rec in records:
            r = next((x for x in rec["variants"] if x["name"] == row["name"]), None)
            if r is None:
                continue
            per_rank = r["img_per_s"] / rec["world_size"]
            eff = per_rank / (row["img_per_s"] / base["world_size"])
            lines.append(
                f"{r['name'] if rec is base else '':<30} "
                f"{rec['world_size']:>6} x {rec['nodes']:<4} {r['step_s']:>7.3f}s "
                f"{r['exposed_comm_s']:>7.3f}s {r['allreduce_s']:>7.3f}s {r['img_per_s']:>7.2f} "
                f"{eff:>11.2f}"
            )
        if i < len(base["variants"]) - 1:
            lines.append("")
    return "\n".join(lines)
