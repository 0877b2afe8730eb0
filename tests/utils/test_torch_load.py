"""The checkpoint loader against crafted files (issue 10): a ``__reduce__`` payload and a
gadget chain made only of allow-listed globals; both must be refused without running.

Each payload creates a marker file when it runs; every test asserts the marker is absent
after the load. The gadget is a live weapon: with ``builtins.getattr`` on the allow-list
(the loader before the fix) it runs (``test_the_gadget_runs_when_getattr_is_allowed``).
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from hrnet_seg.utils.torch_load import (
    UnsafeCheckpointError,
    history_buffer_statistic,
    load_checkpoint_file,
    mmengine_safe_globals,
)


class Reduce:
    """Pickles as ``func(*args)``: how any object can make the unpickler call things."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def reduce_payload(marker) -> Reduce:
    """The textbook attack: ``os.system`` named in the pickle."""
    return Reduce(os.system, (f"touch {marker}",))


def gadget_payload(marker) -> Reduce:
    """Only torch's default allow-list plus ``builtins.getattr``: getattr(getattr,
    '__self__') is the builtins module, getattr(builtins, 'eval') its eval, and
    ``torch._tensor._rebuild_from_type_v2(func, type, args, state)`` calls ``func(*args)``.
    The code returns a tensor, so that the load then succeeds as if nothing happened."""
    builtins = Reduce(getattr, (getattr, "__self__"))
    evaluate = Reduce(getattr, (builtins, "eval"))
    code = f"(__import__('pathlib').Path({str(marker)!r}).touch(), __import__('torch').zeros(1))[1]"
    return Reduce(torch._tensor._rebuild_from_type_v2, (evaluate, torch.Tensor, (code,), {}))


ATTACKS = {"reduce": reduce_payload, "gadget": gadget_payload}


def malicious_checkpoint(path, marker, attack: str, *, base: dict | None = None):
    """``base`` (a real checkpoint's contents) plus one extra key holding the payload:
    the stealthy variant, which otherwise loads and evaluates normally."""
    contents = dict(base or {"state_dict": {"conv1.weight": torch.zeros(1)}})
    contents["extra"] = ATTACKS[attack](marker)
    torch.save(contents, path)
    return path


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "payload_ran"
    yield path
    assert not path.exists(), "the payload ran"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_plain_weights_only_load_refuses_both(tmp_path, marker, attack):
    path = malicious_checkpoint(tmp_path / "evil.pth", marker, attack)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_the_gadget_runs_when_getattr_is_allowed(tmp_path):
    # The allow-list before the fix: the file is a working exploit, so the tests of the
    # loader below can fail.
    marker = tmp_path / "payload_ran"
    path = malicious_checkpoint(tmp_path / "evil.pth", marker, "gadget")
    with torch.serialization.safe_globals([getattr]):
        loaded = torch.load(path, weights_only=True)
    assert marker.exists() and torch.equal(loaded["extra"], torch.zeros(1))


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_loader_refuses_both(tmp_path, marker, attack):
    path = malicious_checkpoint(tmp_path / "evil.pth", marker, attack)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_file(path)
    message = str(info.value)
    assert message.startswith(f"Refused to load checkpoint {str(path)!r} (torch.load with ")
    expected = {
        "reduce": "Trying to load unsupported GLOBAL posix.system whose module posix is blocked.",
        "gadget": "refused getattr(function object, '__self__'): a "
        "checkpoint may only name the HistoryBuffer statistics min, max, current, mean",
    }[attack]
    assert expected in message
    assert "could run code" in message


def test_getattr_only_hands_out_the_statistics():
    assert history_buffer_statistic(HistoryBuffer, "mean") is HistoryBuffer.mean
    for owner, name in [
        (HistoryBuffer, "__init__"),
        (HistoryBuffer, "register_statistics"),
        (HistoryBuffer, "__class__"),
        (getattr, "__self__"),
        (torch.Tensor, "mean"),
        (HistoryBuffer, ["mean"]),
    ]:
        with pytest.raises(pickle.UnpicklingError, match="refused getattr"):
            history_buffer_statistic(owner, name)
    # What the allow-list says about getattr: only the stand-in answers to the name.
    named = {
        name: obj for obj, name in (g for g in mmengine_safe_globals() if isinstance(g, tuple))
    }
    assert named["builtins.getattr"] is history_buffer_statistic
    assert getattr not in mmengine_safe_globals()


def test_a_file_cannot_change_what_the_statistics_call(tmp_path):
    buffer = HistoryBuffer()
    buffer.update(1.0)
    buffer._statistics_methods = {"mean": torch.Tensor}  # pickled as its statistics_methods
    torch.save({"buffer": buffer}, tmp_path / "hub.pth")
    load_checkpoint_file(tmp_path / "hub.pth")
    assert HistoryBuffer._statistics_methods["mean"] is HistoryBuffer.mean
    fresh = HistoryBuffer()
    fresh.update(3.0)
    assert fresh.statistics("mean") == 3.0


def test_a_message_hub_with_numpy_values_loads(tmp_path):
    hub = MessageHub.get_instance("test_torch_load")
    hub.update_scalar("train/loss", np.float64(0.5))
    hub.update_scalar("train/loss", 0.25)
    torch.save({"message_hub": hub.state_dict(), "meta": {"seed": np.int64(3)}},
               tmp_path / "hub.pth")  # fmt: skip
    loaded = load_checkpoint_file(tmp_path / "hub.pth")
    buffer = loaded["message_hub"]["log_scalars"]["train/loss"]
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.statistics("mean") == pytest.approx(0.375)
    assert buffer.statistics("current") == 0.25 and loaded["meta"]["seed"] == 3
