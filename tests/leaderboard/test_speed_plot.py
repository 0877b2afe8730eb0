"""The accuracy / speed plot: every row placed, speed panels by measuring conditions,
and no label colliding with another or leaving the figure (checked on the rendered
text boxes); the label placement on its own."""

from __future__ import annotations

import itertools
import math

import pytest
from matplotlib.text import Text

from hrnet_seg.leaderboard import Row, figure, leaderboard, plot
from hrnet_seg.leaderboard.label_layout import Box, place_labels
from hrnet_seg.leaderboard.speed_plot import (
    LABEL_GID,
    LEADER_GID,
    PlotLabelWarning,
    UnknownPlotAxisError,
)
from tests.leaderboard.test_leaderboard import PNG_MAGIC, write_run


def bench(device: str, size, fps: float, threads: int = 2) -> dict:
    """What tools/benchmark.py --json writes about where it measured."""
    options = {"infer_size": list(size), "flops_size": [1024, 2048], "bf16": False}
    return {"params": 1, "gflops_official": 10.0, "fps": fps, "device": device,
            "threads": threads, "options": options}  # fmt: skip


@pytest.fixture
def crowded(tmp_path):
    """Every published row (both datasets) and runs of ours: on a V100 at the references'
    size (beside them), on a CPU at 128x256, without a benchmark, on built-in data."""
    runs = tmp_path / "runs"
    write_run(
        runs / "w48_v100", miou=80.1, benchmark=bench("Tesla V100-SXM2-32GB", (1024, 2048), 6.0)
    )
    write_run(
        runs / "w18_v100", miou=78.7, benchmark=bench("Tesla V100-SXM2-32GB", (1024, 2048), 13.0)
    )
    write_run(runs / "w18_cpu", miou=78.6, device="cpu", world_size=1,
              benchmark=bench("cpu", (128, 256), 40.0))  # fmt: skip
    write_run(runs / "no_bench", miou=80.9)
    write_run(runs / "ade_run", miou=43.0, dataset="ADE20KDataset")
    write_run(runs / "demo", miou=89.1, data="built-in", image_size=(128, 256), device="cpu",
              world_size=1, benchmark=bench("cpu", (128, 256), 30.0))  # fmt: skip
    write_run(runs / "demo_short", miou=60.0, data="built-in", image_size=(128, 256),
              device="cpu", world_size=1)  # fmt: skip
    return leaderboard([runs])


def drawn_texts(fig) -> tuple[list[Text], list[Text]]:
    """(point labels, every other text) that a draw of ``fig`` puts on the canvas (tick
    labels outside the view limits exist but are not drawn)."""
    drawn = []
    original = Text.draw

    def record(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return original(self, renderer)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Text, "draw", record)
        fig.canvas.draw()
    labels = [t for t in drawn if t.get_gid() == LABEL_GID]
    return labels, [t for t in drawn if t.get_gid() != LABEL_GID]


def assert_no_collisions(fig):
    labels, others = drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    boxes = {id(t): t.get_window_extent(renderer) for t in labels + others}
    width, height = fig.bbox.width, fig.bbox.height
    for text in labels + others:  # nothing clipped by the figure's edges
        box = boxes[id(text)]
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, (
            text.get_text(),
            box,
        )
    for a, b in itertools.combinations(labels, 2):
        assert not boxes[id(a)].overlaps(boxes[id(b)]), (a.get_text(), b.get_text())
    for label in labels:
        assert not any(boxes[id(label)].overlaps(boxes[id(o)]) for o in others), label.get_text()
        # Inside its own panel: clear of tick labels, axis labels and titles.
        frame = label.axes.get_window_extent(renderer)
        box = boxes[id(label)]
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, label.get_text()
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1, label.get_text()
    # Leader lines run between a point and its own label, through no other label.
    for line in fig.findobj(lambda a: a.get_gid() == LEADER_GID):
        pixels = line.get_transform().transform(line.get_xydata())
        (x0, y0), (x1, y1) = pixels
        samples = [(x0 + (x1 - x0) * i / 20, y0 + (y1 - y0) * i / 20) for i in range(1, 20)]
        crossed = [t.get_text() for t in labels if any(boxes[id(t)].contains(*p) for p in samples)]
        assert crossed == [], crossed
    return labels, others


def test_every_run_is_placed_and_no_label_collides(crowded):
    fig = figure(crowded)
    labels, others = assert_no_collisions(fig)
    assert len(labels) == len(crowded)  # one label per row: runs without fps too
    names = [t.get_text() for t in labels]
    for model in ("w48_v100", "w18_v100", "w18_cpu", "no_bench", "ade_run", "demo", "demo_short"):
        assert sum(n.startswith(f"{model} ") for n in names) == 1, model
    assert sum(n.startswith("mmseg fcn_hr48 ") for n in names) == 5  # 3 Cityscapes, 2 ADE20K
    # fps panels by conditions, named on the axis; a strip for the rest.
    xlabels = {ax.get_xlabel() for ax in fig.findobj(lambda a: hasattr(a, "get_xlabel"))}
    assert {
        "inference fps (images/s) on V100, 1024x2048",
        "inference fps (images/s) on V100, short side 512",
        "inference fps (images/s) on cpu 2 threads, 128x256",
        "no fps figure",
    } <= xlabels
    titles = {t.get_text() for t in others}
    assert (
        "cityscapes (built-in)\nbuilt-in (synthetic) data: not comparable with published figures"
        in titles
    )
    # The CPU run is in a panel of its own, not on the V100 axis.
    by_label = {t.get_text(): t.axes for t in labels}
    cpu_axes = next(ax for name, ax in by_label.items() if name.startswith("w18_cpu "))
    v100_axes = next(ax for name, ax in by_label.items() if name.startswith("w18_v100 "))
    assert cpu_axes is not v100_axes and "cpu" in cpu_axes.get_xlabel()
    demo_axes = by_label[next(n for n in by_label if n.startswith("demo "))]
    assert demo_axes is not cpu_axes  # built-in data: its own band


def test_gflops_plot_places_every_run_too(crowded):
    # No published row has GFLOPs: they all share the strips, the most crowded case.
    labels, _ = assert_no_collisions(figure(crowded, x="gflops"))
    assert len(labels) == len(crowded)


def test_a_crowded_panel_still_has_no_collisions():
    # 30 runs at nearly the same speed and score: labels stack with leader lines.
    rows = [
        Row(
            model=f"run{i:02d}",
            dataset="cityscapes",
            source="local",
            link="",
            mIoU=70 + i * 0.01,
            fps=5.0 + (i % 3) * 0.01,
            fps_at="A100, 1024x2048",
            iterations=80000,
        )  # fmt: skip
        for i in range(30)
    ]
    fig = figure(rows)
    labels, _ = assert_no_collisions(fig)
    assert len(labels) == 30


@pytest.mark.slow  # four figures, each taller than the last
def test_a_label_that_cannot_fit_is_left_out_with_a_warning():
    rows = [
        Row(model="x" * 400, dataset="ade20k", source="local", link="", mIoU=40.0),
        Row(model="short", dataset="ade20k", source="local", link="", mIoU=41.0),
    ]
    with pytest.warns(PlotLabelWarning, match="1 label"):
        fig = figure(rows)
    labels, _ = assert_no_collisions(fig)  # never drawn over another label
    assert [t.get_text() for t in labels] == ["short"]
    (ax,) = {t.axes for t in labels}
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2  # both points plotted


def test_plot_writes_the_figure(tmp_path):
    rows = [Row(model="a", dataset="ade20k", source="local", link="", mIoU=40.0)]
    path = plot(rows, tmp_path / "board.png", x="gflops")
    assert path.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(UnknownPlotAxisError):
        plot(rows, tmp_path / "bad.png", x="latency")
    assert plot([], tmp_path / "empty.png").read_bytes().startswith(PNG_MAGIC)


def test_label_placement_keeps_labels_apart_and_inside():
    bounds = Box(0, 0, 400, 300)
    points = [(200.0, 150.0)] * 12  # all on one spot
    sizes = [(80.0, 10.0)] * 12
    marker = [Box(196, 146, 204, 154)]
    placed = place_labels(points, sizes, bounds=bounds, obstacles=marker)
    boxes = [p.box for p in placed]
    assert all(b.inside(bounds) and not b.overlaps(marker[0]) for b in boxes)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    assert placed[0].box.x0 > 200 and not placed[0].leader  # the first: right beside it
    for p in placed:  # the farther ones point back
        assert p.leader == (math.dist((200, 150), p.box.nearest(200, 150)) >= 12)
    assert sum(p.leader for p in placed) >= 6
    # No room: None, never an overlap.
    assert place_labels([(5.0, 5.0)], [(50.0, 10.0)], bounds=Box(0, 0, 20, 20)) == [None]


def test_hrnet_and_its_peers_are_families_with_a_legend(crowded):
    """Issue 14: HRNet rows (ours and published) share one colour, each peer family has
    its own, and each band's legend names the families it shows."""
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_rgba

    from hrnet_seg.leaderboard.speed_plot import family, family_colours

    fig = figure(crowded, x="fps")
    cityscapes = fig.subfigs[0]  # the real Cityscapes band: ours beside the papers
    legend = {t.get_text() for t in cityscapes.legends[0].get_texts()}
    peers = {"PIDNet", "DDRNet", "SegFormer", "DeepLabV3+", "Mask2Former"}
    assert {"published", "ours", "HRNet"} | peers <= legend
    rows = [r for r in crowded if r.section == "cityscapes"]
    colours = family_colours(crowded)
    assert len(set(colours.values())) == len(colours)  # one colour per family
    checked = set()
    for ax in cityscapes.axes:
        for collection in (c for c in ax.collections if isinstance(c, PathCollection)):
            y = collection.get_offsets()[0][1]
            families = {family(r) for r in rows if y in (r.mIoU, r.mIoU_slide, r.mIoU_ms_flip)}
            if len(families) == 1:  # a score no other family has: its colour is known
                name = families.pop()
                assert tuple(collection.get_facecolor()[0]) == to_rgba(colours[name]), name
                checked.add(name)
    assert {"HRNet"} | peers <= checked
