"""Progress: a bar on a terminal, plain lines in a file."""

import io

import pytest

from hrnet_seg.utils.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_file_gets_one_plain_line_per_tenth():
    out = io.StringIO()
    bar = Progress(50, what="images", file=out)
    for _ in range(50):
        bar.update()
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10
    assert "\r" not in out.getvalue() and all(len(line) < 80 for line in lines)
    assert lines[0].strip().startswith("5/50 images, ETA")
    assert lines[-1].strip().startswith("50/50 images (")


def test_a_stop_part_way_says_where():
    out = io.StringIO()
    bar = Progress(100, file=out)
    for _ in range(37):
        bar.update()
    bar.close()
    assert out.getvalue().splitlines()[-1].strip().startswith("37/100 images")


def test_a_terminal_gets_the_bar():
    out = _Terminal()
    bar = Progress(4, file=out)
    for _ in range(4):
        bar.update()
    bar.close()
    assert "[>>" in out.getvalue() and out.getvalue().endswith("\n")


def test_negative_total_is_refused():
    with pytest.raises(ValueError, match="total"):
        Progress(-1)
