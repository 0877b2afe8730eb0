"""img/s in the log line describes the same iterations as the line's ``time``."""

from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import LogProcessor

from hrnet_seg.engine.hooks.throughput import ThroughputHook


def test_img_per_s_is_the_batch_over_the_windowed_mean_time():
    hub = MessageHub.get_instance("test_throughput")
    processor = LogProcessor(by_epoch=False, window_size=10)
    runner = SimpleNamespace(message_hub=hub, log_processor=processor)
    hook = ThroughputHook()
    batch = {"inputs": [torch.zeros(3, 2, 2)] * 4}
    times = [10.0] + [1.0] * 9 + [2.0] * 10  # a slow first step, then a slower stretch
    for t in times:
        hub.update_scalar("train/time", t)
        hook.after_train_iter(runner, 0, data_batch=batch)
    # what the log line prints for time (mean of the last 10) and img/s (current value)
    mean_time = hub.get_scalar("train/time").mean(10)
    assert mean_time == pytest.approx(2.0)
    assert hub.get_scalar("train/img_per_s").current() == pytest.approx(4 / mean_time)
    # the first logged window includes the slow first step in both figures
    hub2 = MessageHub.get_instance("test_throughput_2")
    runner.message_hub = hub2
    for t in times[:10]:
        hub2.update_scalar("train/time", t)
        hook.after_train_iter(runner, 0, data_batch=batch)
    assert hub2.get_scalar("train/img_per_s").current() == pytest.approx(4 / 1.9)
