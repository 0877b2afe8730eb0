"""tools/benchmark_ddp.py: the data-parallel scaling benchmark, in a 2-process torchrun."""

from __future__ import annotations

import json

import pytest

from hrnet_seg.benchmark.scaling import Variant, VariantError, scaling_table
from tests.conftest import free_port, run_python
from tests.integration.conftest import DEMO

pytestmark = pytest.mark.slow


def test_two_ranks_time_every_variant(tmp_path):
    out = tmp_path / "2x1.json"
    res = run_python(
        "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(free_port()),
        "tools/benchmark_ddp.py", DEMO, "--launcher", "pytorch", "--crop", "64", "128",
        "--steps", "1", "--rounds", "1", "--warmup", "0", "--variants", "fp32:25", "bf16:1",
        "--json", str(out),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record["world_size"] == 2 and record["nodes"] == 1 and record["crop"] == [64, 128]
    fp32, bf16 = record["variants"]
    assert (fp32["name"], bf16["name"]) == ("fp32 grads, 25 MB buckets", "bf16 grads, 1 MB buckets")
    # Bytes on the wire: 4 per parameter in fp32, 2 with the bf16 hook.
    assert fp32["grad_mb"] == round(record["params"] * 4 / 1e6, 2)
    assert bf16["grad_mb"] == round(record["params"] * 2 / 1e6, 2)
    for v in (fp32, bf16):
        assert v["step_s"] > 0 and v["compute_s"] > 0 and v["allreduce_s"] > 0
        # Both from the unrounded medians: equal to the rounding of the record.
        exposed = max(0.0, v["step_s"] - v["compute_s"])
        assert v["exposed_comm_s"] == pytest.approx(exposed, abs=2e-4)
        assert v["img_per_s"] == pytest.approx(2 / v["step_s"], rel=1e-3)
    assert "fp32 grads, 25 MB buckets" in res.stdout  # rank 0's table

    # --compare: efficiency of each run against the first (per-rank images per second).
    bigger = dict(record, world_size=4, nodes=2)
    bigger["variants"] = [dict(v, img_per_s=v["img_per_s"] * 1.5) for v in record["variants"]]
    rows = [line.split() for line in scaling_table([record, bigger]).splitlines()[1:] if line]
    assert [r[-1] for r in rows] == ["1.00", "0.75", "1.00", "0.75"]  # 1.5x images, 2x ranks
    compare = run_python("tools/benchmark_ddp.py", "--compare", str(out), str(out))
    assert compare.returncode == 0 and "fp32 grads, 25 MB buckets" in compare.stdout


def test_variants_and_inputs_are_checked(tmp_path):
    assert Variant.parse("bf16:100") == Variant(comm_hook="bf16_compress", bucket_cap_mb=100)
    assert Variant.parse("fp32:2.5").name == "fp32 grads, 2.5 MB buckets"
    for bad in ("fp64:25", "bf16", "bf16:0", "fp32:x"):
        with pytest.raises(VariantError, match="expected PRECISION:BUCKET_MB"):
            Variant.parse(bad)
    res = run_python("tools/benchmark_ddp.py", "--compare", str(tmp_path / "none.json"))
    assert res.returncode == 2 and res.stderr.startswith("error: ")
    assert "none.json: not a benchmark_ddp record" in res.stderr and "Traceback" not in res.stderr
    res = run_python("tools/benchmark_ddp.py", DEMO, "--variants", "fp64:25")
    assert res.returncode == 2 and "--variants 'fp64:25'" in res.stderr
