# HRNetV2 + FCN (paper Sec. 4, "HRNetV2"): the four branch outputs are upsampled to
# stride 4, concatenated, and classified by a 1x1 conv-BN-ReLU then a 1x1 conv.
# No width here: a config inherits one of fcn_hrnet_w18.py, fcn_hrnet_w48.py,
# fcn_hrnet_w18_small_v1.py, which set the backbone's arch and the head widths together.
# Which implementation the model reproduces, in the backbone's fusion, every head, the
# loss and the final resize at once (hrnet_seg/models/reproduce.py; README "Fidelity:
# mmseg or official"). "mmseg": mmseg 1.2.2 bit for bit at every input size, so that
# mmseg's published figures and checkpoints compare exactly. "official": the official
# HRNet code; align_corners None takes its default (True), False as in its Cityscapes
# FCN yaml. The model dicts below leave these keys to the switch.
reproduce = "mmseg"
align_corners = None
norm_cfg = dict(type="SyncBN", requires_grad=True)  # BN with one warning when not distributed
data_preprocessor = dict(
    type="SegDataPreProcessor",
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type="EncoderDecoder",
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type="HighResolutionNet",
        norm_cfg=norm_cfg,
        norm_eval=False,
    ),
    decode_head=dict(
        type="HRNetV2FCNHead",  # mmseg's FCNHead, lean upsample-and-concat (models/heads.py)
        in_index=(0, 1, 2, 3),
        input_transform="resize_concat",
        kernel_size=1,
        num_convs=1,
        concat_input=False,
        dropout_ratio=-1,
        num_classes=19,
        norm_cfg=norm_cfg,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
