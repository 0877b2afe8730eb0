# The official HRFormer segmentation schedule (HRNet/HRFormer
# seg/scripts/cityscapes/hrt/run_hrt_*_ocr_v2_ohem.sh, seg/configs/cityscapes/H_48_D_4.json,
# seg/segmentor/tools/optim_scheduler.py `warm_lambda_poly`, seg/segmentor/trainer.py
# `group_weight`): AdamW, lr 1e-4, betas (0.9, 0.999), weight decay 0.01 on conv and
# linear weights only (none on biases, norms, the relative position bias tables); 80k
# iterations: linear warm-up over 1500 from 1e-6 of the lr, then poly (power 0.9) to 0.
_base_ = ["./schedule_80k.py"]
optimizer = dict(
    _delete_=True, type="AdamW", lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01
)
optim_wrapper = dict(
    optimizer=optimizer,
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={"relative_position_bias_table": dict(decay_mult=0.0)},
    ),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type="PolyLR", eta_min=0.0, power=0.9, by_epoch=False, begin=1500, end=80000),
]
