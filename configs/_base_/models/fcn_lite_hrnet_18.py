# Lite-HRNet-18 + FCN: HRNetV2's head (fcn_hrnet.py: the four outputs upsampled to
# stride 4, concatenated, 1x1 conv-BN-ReLU, 1x1 conv) on Lite-HRNet's four outputs.
# The backbone returns its iterative head's outputs (hrnet_seg/models/lite_hrnet.py),
# of widths C0, C0, C1, C2 = 40, 40, 80, 160 (not C, 2C, 4C, 8C as HRNet's).
_base_ = ["./fcn_hrnet.py"]
lite_hrnet_channels = [40, 40, 80, 160]
model = dict(
    # No ImageNet weights exist for Lite-HRNet (the official checkpoints are COCO / MPII
    # pose models): trained from scratch, with the official initialisation.
    backbone=dict(_delete_=True, type="LiteHighResolutionNet", arch="18", norm_cfg=_base_.norm_cfg),
    # channels: the 1x1 conv keeps the concatenated width, as fcn_hrnet_w*.py do.
    decode_head=dict(in_channels=lite_hrnet_channels, channels=sum(lite_hrnet_channels)),
)
