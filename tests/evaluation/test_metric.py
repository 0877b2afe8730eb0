"""ConfusionMatrixMetric: one process, mmengine's Evaluator, and 2 ranks == 1 rank exactly."""

from __future__ import annotations

import doctest
import math
import pickle

import numpy as np
import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from mmengine.evaluator import Evaluator
from mmengine.logging import MessageHub
from mmengine.structures import PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

from hrnet_seg.evaluation import metric as metric_module
from hrnet_seg.evaluation.confusion import confusion_matrix, summarize
from hrnet_seg.evaluation.metric import ConfusionMatrixMetric
from tests.conftest import free_port

CLASSES = ("road", "sidewalk", "car", "person")
K = len(CLASSES)


def make_samples(n: int, seed: int = 0) -> list[dict]:
    """n images of different sizes, every class present, some ignored pixels."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        shape = (1, 9 + i, 13 + 2 * i)
        label = rng.integers(0, K, size=shape)
        label[rng.random(shape) < 0.1] = 255
        pred = np.where(rng.random(shape) < 0.7, label, rng.integers(0, K, size=shape))
        pred[rng.random(shape) < 0.05] = 255
        samples.append(
            dict(
                pred_sem_seg=dict(data=torch.from_numpy(pred)),
                gt_sem_seg=dict(data=torch.from_numpy(label).to(torch.uint8)),
            )
        )
    return samples


def build_metric(**kwargs) -> ConfusionMatrixMetric:
    metric = ConfusionMatrixMetric(**kwargs)
    metric.dataset_meta = dict(classes=CLASSES)
    return metric


def expected_summary(samples: list[dict]) -> dict:
    cm = sum(
        confusion_matrix(s["pred_sem_seg"]["data"], s["gt_sem_seg"]["data"], num_classes=K)
        for s in samples
    )
    return summarize(cm, class_names=CLASSES)


def test_batches_accumulate_into_one_matrix():
    samples = make_samples(7)
    metric = build_metric(prefix="val")
    assert metric.last_matrix is None  # declared before the first evaluation (W&B hook reads it)
    for start in range(0, 7, 3):
        metric.process({}, samples[start : start + 3])
    assert metric.results == []  # no per-image state
    assert metric._matrix.shape == (K, K + 1)

    result = metric.evaluate(7)
    summary = expected_summary(samples)
    assert result == {f"val/{key}": summary[key] for key in ("aAcc", "mIoU", "mAcc")}
    assert metric.last_summary == summary
    assert metric.last_matrix.shape == (K, K + 1) and int(metric.last_matrix.sum()) > 0
    assert MessageHub.get_current_instance().get_info("eval/summary") == summary

    # evaluate() resets: the next round sees only its own images.
    metric.process({}, samples[:2])
    assert metric.evaluate(2)["val/mIoU"] == expected_summary(samples[:2])["mIoU"]


def test_built_from_the_registry_and_run_by_mmengine_evaluator():
    samples = make_samples(3, seed=1)
    evaluator = Evaluator(METRICS.build(dict(type="ConfusionMatrixMetric", iou_metrics=["mIoU"])))
    evaluator.dataset_meta = dict(classes=CLASSES)
    data_samples = []
    for s in samples:  # the model's outputs, as SegDataSample objects
        sample = SegDataSample()
        sample.pred_sem_seg = PixelData(data=s["pred_sem_seg"]["data"])
        sample.gt_sem_seg = PixelData(data=s["gt_sem_seg"]["data"])
        data_samples.append(sample)
    evaluator.process(data_samples[:2])
    evaluator.process(data_samples[2:])
    assert evaluator.evaluate(3)["mIoU"] == expected_summary(samples)["mIoU"]


def test_duplicated_or_missing_images_are_an_error():
    metric = build_metric()
    metric.process({}, make_samples(3))
    with pytest.raises(
        ValueError, match="evaluated 3 images but the dataset has 2.*round_up=False"
    ):
        metric.evaluate(2)


def test_nan_to_num_counts_absent_classes():
    metric = build_metric(nan_to_num=0)
    metric.dataset_meta = dict(classes=(*CLASSES, "train"))
    samples = make_samples(2)
    metric.process({}, samples)
    result = metric.evaluate(2)
    assert metric.last_summary["per_class"]["train"] == {"IoU": 0.0, "Acc": 0.0}
    present = expected_summary(samples)
    assert result["mIoU"] == pytest.approx(present["mIoU"] * K / (K + 1), abs=1e-12)


def test_validates_its_arguments():
    with pytest.raises(ValueError, match="computes iou_metrics=\\['mIoU'\\].*mDice"):
        ConfusionMatrixMetric(iou_metrics=["mIoU", "mDice"])
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        ConfusionMatrixMetric(ignore_index="255")
    with pytest.raises(TypeError):
        ConfusionMatrixMetric(255)  # keyword-only
    metric = ConfusionMatrixMetric()
    with pytest.raises(RuntimeError, match=r"needs dataset_meta\['classes'\]"):
        metric.process({}, make_samples(1))


def test_docstring_example():
    result = doctest.testmod(metric_module)
    assert result.attempted > 0 and result.failed == 0


# --- distributed: 2 gloo ranks, uneven shares, equal to 1 process with `==` ---

NUM_SAMPLES = 7  # odd: rank 0 gets 4 images, rank 1 gets 3


def _rank_main(rank: int, world_size: int, port: int, out_dir: str) -> None:
    import hrnet_seg  # noqa: F401  (a spawned process starts from scratch)

    torch_dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size
    )
    try:
        metric = build_metric()
        # DefaultSampler(shuffle=False, round_up=False): rank r takes indices r::world.
        mine = make_samples(NUM_SAMPLES)[rank::world_size]
        for sample in mine:  # batch size 1, as in mmseg's val loops
            metric.process({}, [sample])
        result = metric.evaluate(NUM_SAMPLES)
        with open(f"{out_dir}/rank{rank}.pkl", "wb") as f:
            pickle.dump((len(mine), result, metric.last_summary), f)
    finally:
        torch_dist.destroy_process_group()


def test_two_ranks_equal_one_process_exactly(tmp_path):
    mp.spawn(_rank_main, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)

    single = build_metric()
    single.process({}, make_samples(NUM_SAMPLES))
    single_result = single.evaluate(NUM_SAMPLES)
    assert not any(math.isnan(v["IoU"]) for v in single.last_summary["per_class"].values())

    counts = []
    for rank in range(2):
        with open(tmp_path / f"rank{rank}.pkl", "rb") as f:
            count, result, summary = pickle.load(f)
        counts.append(count)
        assert result == single_result
        assert summary == single.last_summary
    assert counts == [4, 3]
