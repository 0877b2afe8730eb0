# HRNet-W18-Small-v1 + FCN (the demo's model): the backbone's arch and the head widths it
# reads, in one place. hrnet_channels: the four outputs of W18-Small-v1
# (hrnet_seg/models/arch.py; C = 16); tools/train.py and tools/test.py stop with the fix
# when a head's in_channels disagree with the arch.
_base_ = ["./fcn_hrnet.py"]
hrnet_channels = [16, 32, 64, 128]
model = dict(
    backbone=dict(arch="W18-Small-v1"),
    # channels: the 1x1 conv keeps the concatenated width (official HRNet's last_layer).
    decode_head=dict(in_channels=hrnet_channels, channels=sum(hrnet_channels)),
)
