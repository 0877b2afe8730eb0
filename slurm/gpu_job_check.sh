#!/usr/bin/env bash
# GPU check of the launching layer (issue: SLURM with submitit): one submitit-free
# 1-GPU run of a zoo config for 50 iterations with --amp, through the same TrainJob a
# Slurm task runs (slurm/submit.py --in-process). Built-in data at Cityscapes size, no
# pretrained weights (none can be downloaded on the device machine).
#
#   bash slurm/gpu_job_check.sh              # on the GPU machine; results in $OUT
#   DRY_RUN=1 bash slurm/gpu_job_check.sh    # the same steps, tiny and on CPU (tests)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
OUT=${OUT:-work_dirs/gpu_job_check}
export WANDB_MODE=${WANDB_MODE:-offline}
mkdir -p "$OUT"

if [[ "${DRY_RUN:-0}" == 1 ]]; then
  CONFIG=configs/demo/hrnet_w18s_demo_cityscapes.py
  DATA=(--num-train 4 --num-val 2 --size 64 128)
  ITERS=2
else
  CONFIG=${CONFIG:-configs/hrnet_w48_cityscapes.py}
  DATA=(--num-train 16 --num-val 4 --size 1024 2048)
  ITERS=50
fi

$PY tools/make_demo_data.py --dataset cityscapes --out "$OUT/data/cityscapes" "${DATA[@]}"
$PY -c "import torch; print('device:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
$PY slurm/submit.py "$CONFIG" --in-process --amp --no-pretrained --seed 0 \
  --work-dir-root "$OUT" --data-root "$OUT/data/cityscapes" \
  --cfg-options train_cfg.max_iters=$ITERS train_cfg.val_interval=$ITERS \
  default_hooks.checkpoint.interval=$((ITERS / 2)) default_hooks.logger.interval=10 \
  train_dataloader.num_workers=2 val_dataloader.num_workers=2 \
  2>&1 | tee "$OUT/train.log" | grep -E "Finished in process|Slurm job|Iter\(train\)|mIoU|Error|error"
echo "results: $(ls "$OUT"/*/results.json)"
