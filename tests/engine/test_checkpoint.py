import os

from hrnet_seg.engine.checkpoint import (
    find_latest_checkpoint,
    remove_stale_temporaries,
    write_text_atomic,
)


def test_latest_is_the_highest_complete_iteration(tmp_path):
    for name in ("iter_50.pth", "iter_200.pth", "iter_1000.pth.tmp", "best_mIoU_iter_300.pth"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "last_checkpoint").write_text("")  # a truncated pointer is not trusted
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / "iter_200.pth")
    assert remove_stale_temporaries(str(tmp_path)) == [str(tmp_path / "iter_1000.pth.tmp")]
    assert not (tmp_path / "iter_1000.pth.tmp").exists()


def test_no_checkpoint(tmp_path):
    assert find_latest_checkpoint(str(tmp_path)) is None


def test_write_text_atomic(tmp_path):
    path = tmp_path / "results.json"
    write_text_atomic(str(path), "{}\n")
    assert path.read_text() == "{}\n"
    assert os.listdir(tmp_path) == ["results.json"]
