# HRFormer + OCR as the official code builds it (HRNet/HRFormer seg/lib/models/nets/hrt.py,
# HRT_SMALL_OCR_V2 / HRT_BASE_OCR_V2, trained with loss fs_auxohemce_loss), on
# ocr_hrnet.py's cascade. Where it differs from HRNet-OCR (ocr_hrnet.py):
# - the auxiliary (soft object region) head is a 3x3 conv to 512 + BN + ReLU + 1x1
#   classifier (official `aux_head`), not HRNet-OCR's 1x1 conv keeping the width;
# - the OCR head's 3x3 conv to 512 and its 256-wide object attention are HRNet-OCR's;
# - losses: OHEM cross entropy (keep pixels whose probability < 0.9, at least 100000 per
#   image: the official runs one image per GPU) on the OCR head, plain cross entropy
#   (weight 0.4) on the auxiliary one.
# Differs from the official loss: no class weights. The official runs weight the 19
# Cityscapes classes (seg/configs/cityscapes/H_48_D_4.json `ce_weight`, 0.84 to 1.15),
# but mmseg 1.2.2's CrossEntropyLoss with class_weight stops on every label map with
# ignored pixels (losses/cross_entropy_loss.py, its average factor indexes class_weight
# with the raw labels, 255 included: IndexError), i.e. on every Cityscapes image.
# No width here: ocr_hrformer_s.py / ocr_hrformer_b.py set the arch and head widths.
_base_ = ["./ocr_hrnet.py"]
# The official HRFormer heads resample with align_corners=True everywhere and drop out
# 0.05 before the OCR classifier: the "official" side of the switch (the backbone itself
# has one implementation, the official one, whatever this says).
reproduce = "official"
model = dict(
    backbone=dict(_delete_=True, type="HighResolutionTransformer", norm_cfg=_base_.norm_cfg),
    decode_head=[
        dict(
            _base_.model.decode_head[0],
            kernel_size=3,
            channels=512,
        ),
        dict(
            _base_.model.decode_head[1],
            sampler=dict(type="OHEMPixelSampler", thresh=0.9, min_kept=100000),
        ),
    ],
)
