#!/usr/bin/env bash
# GPU benchmark for one H100 / H200 (fits well inside 10 minutes):
#   W48 FCN and W48 OCR training throughput at 512x1024, batch 2 per GPU and the largest
#   batch that fits: ours bf16 + channels_last (eager and torch.compile) against mmseg's
#   HRNet in fp32 and bf16, NCHW and channels_last; ours fp32 against mmseg fp32;
#   inference fps at 1024x2048; peak memory; MFU against the card's measured bf16
#   matmul peak.
#
#   bash tools/gpu_bench.sh                      # on the GPU machine; JSON + log in $OUT
#   DRY_RUN=1 bash tools/gpu_bench.sh            # the same steps, tiny and on CPU (tests)
#   STEPS="w48_fcn_fp32_vs_mmseg" bash tools/gpu_bench.sh   # only the named steps
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
OUT=${OUT:-work_dirs/gpu_bench}
# Hard budget: every step runs under `timeout` with what is left of it, and steps that
# no longer fit are skipped, so the whole script ends inside 10 minutes by construction.
BUDGET_S=${BUDGET_S:-540}
DEADLINE=$((SECONDS + BUDGET_S))
mkdir -p "$OUT"

if [[ "${DRY_RUN:-0}" == 1 ]]; then
  SIZE=(--device cpu --crop 64 128 --infer-size 64 128 --flops-size 64 128 --warmup 0 --repeats 1)
  # The dry run checks the steps and dynamo's capture of the networks, not inductor's code
  # generation (minutes on 2 cores) nor AOTAutograd's tracing (aot_eager: 165-179 s per
  # compile step in make test on 2 cores, its two slowest tests).
  COMPILE=(--compile --compile-backend eager)
  WIDTH=w18  # the same code paths with a seventh of the weights to build and initialise
else
  SIZE=(--device cuda --crop 512 1024 --infer-size 1024 2048 --warmup 3 --repeats 10)
  COMPILE=(--compile)
  WIDTH=w48
fi

SEEN=()  # every step name, to tell a misspelt STEPS entry at the end
bench() {  # name, config, flags...
  local name=$1 config=$2 left=$((DEADLINE - SECONDS))
  shift 2
  SEEN+=("$name")
  [[ -z "${STEPS:-}" || " $STEPS " == *" $name "* ]] || return 0
  echo "== $name" | tee -a "$OUT/summary.log"
  if ((left < 20)); then
    echo "   skipped: the ${BUDGET_S}s budget is spent" | tee -a "$OUT/summary.log"
    return 0
  fi
  timeout "$left" $PY tools/benchmark.py "$config" "${SIZE[@]}" --json "$OUT/$name.json" "$@" \
    2>&1 | grep -v "^warning:" | tee -a "$OUT/summary.log" ||
    echo "   stopped: out of time or failed (see above)" | tee -a "$OUT/summary.log"
}

# Most important first: steps that no longer fit the budget are skipped.
for model in fcn ocr; do
  config=configs/hrnet_${WIDTH}_cityscapes.py
  [[ $model == ocr ]] && config=configs/hrnet_${WIDTH}_ocr_cityscapes.py
  # Ours (bf16 + channels_last) against mmseg's HRNet at every setting a mmseg user can
  # pick (fp32 / bf16, NCHW / channels_last), alternating in one process.
  bench "w48_${model}_bf16_cl_vs_mmseg" "$config" --batch 2 --bf16 --vs-mmseg --mfu
  bench "w48_${model}_bf16_cl_compile" "$config" --batch 2 --bf16 "${COMPILE[@]}" --mfu
  bench "w48_${model}_bf16_cl_maxbatch" "$config" --max-batch --bf16 --skip-infer --mfu
  # The backbone and heads alone: ours fp32 NCHW against mmseg's fp32 NCHW and channels_last.
  bench "w48_${model}_fp32_vs_mmseg" "$config" --batch 2 --no-channels-last --vs-mmseg
done
# Deployment: inference at 1024x2048 batch 1, torch fp32 and bf16 against ONNX Runtime
# (its CUDA provider on the GPU: needs onnxruntime-gpu instead of onnxruntime).
bench "w48_ocr_onnx_infer" "configs/hrnet_${WIDTH}_ocr_cityscapes.py" --batch 1 --onnx --skip-train
echo "figures: $OUT/*.json, log: $OUT/summary.log ($SECONDS s)"
for step in ${STEPS:-}; do
  if [[ " ${SEEN[*]} " != *" $step "* ]]; then
    echo "error: STEPS names '$step', which is no step of this script; steps: ${SEEN[*]}" >&2
    exit 2
  fi
done
