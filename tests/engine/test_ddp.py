"""engine/ddp.py: DDP settings from the config, in real 2-process gloo groups."""

from __future__ import annotations

import os
import pickle
import re
import socket
import time

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from mmengine.config import Config

from hrnet_seg.engine import ddp
from hrnet_seg.engine.config import preflight_train
from hrnet_seg.engine.runner import close_distributed
from tests.conftest import HANG_GUARD_S, free_port


def _init(rank, port, **dist_cfg):
    torch_dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=2,
        **ddp.process_group_kwargs(dist_cfg),
    )


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3))


def _inputs(rank: int) -> torch.Tensor:
    return torch.randn(4, 16, generator=torch.Generator().manual_seed(100 + rank))


def _ddp_main(rank, port, out_dir):
    _init(rank, port)
    try:
        records = {}
        for hook in (None, "bf16_compress"):
            cfg = Config(dict(ddp_bucket_cap_mb=1, ddp_comm_hook=hook))
            wrapper = ddp.wrapper_cfg(cfg, device="cpu")
            kwargs = {k: v for k, v in wrapper.items() if k != "type"}
            model = torch.nn.parallel.DistributedDataParallel(_model(), **kwargs)
            ddp.register_comm_hook(model, cfg.ddp_comm_hook)
            model(_inputs(rank)).square().sum().backward()
            grads = [p.grad.clone() for p in model.parameters()]
            torch.optim.SGD(model.parameters(), lr=0.1).step()
            records[hook] = dict(
                grads=grads,
                bucket_bytes_cap=model.bucket_bytes_cap,
                placement=ddp.placement(),
                digests=ddp.replica_digests(model.module),
            )
        with open(f"{out_dir}/rank{rank}.pkl", "wb") as f:
            pickle.dump(records, f)
    finally:
        # The DDP reducer holds the group: freed after destroy_process_group (when this
        # function returns), it runs the group's destructor holding the GIL, which can
        # deadlock with gloo's threads (a hang seen under load). Free it first.
        model = None  # noqa: F841
        close_distributed()


def _reference_grads() -> list[torch.Tensor]:
    """The average of both ranks' gradients, in float64."""
    per_rank = []
    for rank in range(2):
        model = _model().double()
        model(_inputs(rank).double()).square().sum().backward()
        per_rank.append([p.grad for p in model.parameters()])
    return [(a + b) / 2 for a, b in zip(*per_rank, strict=True)]


def test_gradients_are_averaged_in_the_configured_precision(tmp_path):
    mp.spawn(_ddp_main, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [pickle.loads((tmp_path / f"rank{r}.pkl").read_bytes()) for r in range(2)]
    reference = _reference_grads()
    for hook in (None, "bf16_compress"):
        records = [ranks[0][hook], ranks[1][hook]]
        for record in records:
            assert record["bucket_bytes_cap"] == 1 * 1024 * 1024
            for grad, ref in zip(record["grads"], reference, strict=True):
                error = (grad.double() - ref).abs().max().item()
                scale = ref.abs().max().item()
                if hook is None:  # fp32 all-reduce: float32 rounding of the sum
                    assert error <= 1e-6 * scale + 1e-7
                else:  # each rank's share rounded to bf16 (8-bit mantissa) before the sum
                    assert error <= 2**-8 * scale
                    assert error > 1e-6 * scale  # the compression did happen
        # Both ranks got the same gradients, so hold the same parameters after the step.
        for a, b in zip(records[0]["grads"], records[1]["grads"], strict=True):
            assert torch.equal(a, b)
        digests = records[0]["digests"]
        assert len(digests) == 2 and digests[0] == digests[1] == records[1]["digests"][1]
        assert [p["rank"] for p in records[0]["placement"]] == [0, 1]
        assert {p["host"] for p in records[0]["placement"]} == {socket.gethostname()}


def _timeout_main(rank, port, out_dir):
    # The rendezvous gets the default timeout: on a loaded machine the peer's start (a
    # spawn that imports torch) can take longer than the 3 s under test. The collective
    # runs in a group made with the configured settings, once both ranks are up.
    _init(rank, port)
    group = torch_dist.new_group(backend="gloo", **ddp.process_group_kwargs(dict(timeout=3)))
    if rank == 1:
        time.sleep(HANG_GUARD_S)  # alive, but never joins the collective: a hung peer
        return
    start = time.monotonic()
    try:
        torch_dist.all_reduce(torch.ones(1), group=group)
        outcome = "completed"
    except RuntimeError as exc:
        outcome = str(exc)
    with open(f"{out_dir}/rank0.txt", "w") as f:
        f.write(f"{time.monotonic() - start:.1f}\n{outcome}")


def test_a_collective_with_a_missing_peer_fails_after_the_configured_timeout(tmp_path):
    ctx = mp.start_processes(_timeout_main, args=(free_port(), str(tmp_path)), nprocs=2,
                             join=False, start_method="spawn")  # fmt: skip
    deadline = time.monotonic() + HANG_GUARD_S  # a hang guard: the timeout is 3 s
    while not (tmp_path / "rank0.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    for process in ctx.processes:
        process.kill()
    waited, outcome = (tmp_path / "rank0.txt").read_text().split("\n", 1)
    assert "Timed out" in outcome or "timeout" in outcome.lower(), outcome
    assert float(waited) >= 2.5  # it waited for the peer, then gave up


def test_bad_ddp_settings_are_named_before_training():
    base = dict(
        model=dict(backbone=dict()),
        train_dataloader=dict(dataset=dict(type="Unchecked")),
        env_cfg=dict(dist_cfg=dict(backend="gloo", timeout=600)),
    )
    preflight_train(Config(dict(base, ddp_comm_hook="bf16_compress", ddp_bucket_cap_mb=100)))
    bad = {
        "ddp_comm_hook": ("bf16", "ddp_comm_hook='bf16': expected None (fp32 gradients) or one"),
        "ddp_bucket_cap_mb": (0, "ddp_bucket_cap_mb=0: expected a number of MB > 0"),
        "env_cfg": (dict(dist_cfg=dict(timeout="10m")), "env_cfg.dist_cfg.timeout='10m'"),
    }
    for key, (value, message) in bad.items():
        with pytest.raises(ddp.DDPConfigError, match=re.escape(message)):
            preflight_train(Config(dict(base, **{key: value})))


def test_the_wrapper_on_cpu_and_gpu():
    cfg = Config(dict(ddp_bucket_cap_mb=100, find_unused_parameters=True))
    assert ddp.wrapper_cfg(cfg, device="cpu") == dict(
        type="MMDistributedDataParallel", broadcast_buffers=False,
        find_unused_parameters=True, bucket_cap_mb=100, device_ids=None,
    )  # fmt: skip
    # On GPUs mmengine adds device_ids=[LOCAL_RANK].
    assert "device_ids" not in ddp.wrapper_cfg(cfg, device="cuda")
    assert ddp.process_group_kwargs(dict(backend="nccl")) == {}


def _close_main(rank, port, out_dir):
    import gc
    import weakref

    from mmengine.logging import MMLogger

    from hrnet_seg.engine.runner import SegRunner, close_distributed

    os.environ["LOCAL_RANK"] = str(rank)  # mmengine reads it even where the cfg sets none
    _init(rank, port)
    # A runner as far as wrap_model needs one, built without mmengine's __init__, and
    # in a reference cycle as mmengine's runner is (hooks and loops point back to it).
    runner = SegRunner.__new__(SegRunner)
    runner.cfg = Config(dict(ddp_bucket_cap_mb=1))
    runner._distributed = True
    runner._logger = MMLogger.get_instance(f"close-{rank}")
    runner.model = runner.wrap_model(None, _model())
    runner.myself = runner
    wrapper = weakref.ref(runner.model)
    inner = runner.model.module
    gc.disable()  # as at exit: nothing may depend on a collection happening by luck
    close_distributed()
    with open(f"{out_dir}/rank{rank}.pkl", "wb") as f:
        pickle.dump(
            dict(
                wrapper_dead=wrapper() is None,
                unwrapped=runner.model is inner,
                group_gone=not torch_dist.is_initialized(),
            ),
            f,
        )


def test_close_distributed_releases_the_ddp_wrappers_before_destroying_the_group(tmp_path):
    """The reducer of a DDP wrapper holds the process group; if the wrapper outlives
    close_distributed (the runner is in a cycle), the group's destructor runs during
    interpreter finalisation and can abort a finished job. close_distributed unwraps the
    live runners' models and collects, so the wrapper is gone when the group is."""
    mp.spawn(_close_main, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    for rank in range(2):
        with open(tmp_path / f"rank{rank}.pkl", "rb") as f:
            assert pickle.load(f) == dict(wrapper_dead=True, unwrapped=True, group_gone=True)
