# Runtime defaults, as in mmseg 1.x (configs/_base_/default_runtime.py), plus our runner and
# hooks (run_hooks.py, shared with the peer configs in configs/peers/).
_base_ = ["./run_hooks.py"]
default_scope = "mmseg"
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    # tools/train.py switches to gloo without CUDA. timeout: seconds a rank may wait in one
    # collective; a lost node or crashed rank then fails the run after 10 minutes instead of
    # holding every other rank until the time limit. Longer than the slowest step that one
    # rank does alone (writing a W48 checkpoint to a shared filesystem takes seconds).
    dist_cfg=dict(backend="nccl", timeout=600),
)
# DDP gradient all-reduce (README "Scaling"): bucket size in MB (PyTorch's default), and
# an optional communication hook: "bf16_compress" sends gradients in bfloat16 (half the
# bytes; for slow inter-node links), None sends them in fp32.
ddp_bucket_cap_mb = 25
ddp_comm_hook = None
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="SegLocalVisualizer", vis_backends=vis_backends, name="visualizer")
log_processor = dict(by_epoch=False)
log_level = "INFO"
# The fast path: weights and activations in channels_last (NHWC) memory format, which
# CPU (oneDNN) and GPU (cuDNN, tensor cores) convolutions run faster; same outputs to
# float32 rounding (README "Speed"). torch.compile stays opt-in: compile = True.
channels_last = True
load_from = None
resume = False
tta_model = dict(type="SegTTAModel")
