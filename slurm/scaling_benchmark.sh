#!/usr/bin/env bash
# Data-parallel scaling on the local test cluster (README "Scaling"): the same short training
# on 1 node x 2 tasks and on 2 nodes x 2 tasks, with the nodes' link shaped by tc tbf, then the
# comparison. Needs a running `slurm/local_cluster.sh start --nodes 2` (root: it shapes links).
#
#   bash slurm/scaling_benchmark.sh OUT_DIR [tools/benchmark_ddp.py flags]
#
# Environment: CONFIG [configs/hrnet_w18_cityscapes.py], RATE [1gbit] (tc rate of each node's
# link; "off" leaves the link as it is), PYTHON [.venv/bin/python].
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bash slurm/scaling_benchmark.sh OUT_DIR [tools/benchmark_ddp.py flags]}
shift
CONFIG=${CONFIG:-configs/hrnet_w18_cityscapes.py}
RATE=${RATE:-1gbit}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [[ $RATE != off ]]; then
    bash slurm/local_cluster.sh shape "$RATE"
    trap 'bash slurm/local_cluster.sh shape off' EXIT
fi
export HRNET_SEG_LINK="tbf $RATE per node link"
for layout in 1x2 2x2; do
    nodes=${layout%x*} tasks=${layout#*x}
    echo "== $nodes node(s) x $tasks task(s)"
    # --wait: sbatch returns when the job ends, with its exit code.
    sbatch --wait --quiet --nodes="$nodes" --ntasks-per-node="$tasks" --cpus-per-task=1 \
        --output="$OUT/$layout.log" --export=ALL \
        --wrap "srun --kill-on-bad-exit=1 $PYTHON tools/benchmark_ddp.py $CONFIG --launcher slurm --json $OUT/$layout.json $*" ||
        {
            tail -n 30 "$OUT/$layout.log" >&2
            exit 1
        }
    grep -v -e '^warning:' "$OUT/$layout.log" | tail -n 6
done
echo "== scaling (against 1 node x 2 tasks)"
"$PYTHON" tools/benchmark_ddp.py --compare "$OUT/1x2.json" "$OUT/2x2.json" | tee "$OUT/scaling.txt"
