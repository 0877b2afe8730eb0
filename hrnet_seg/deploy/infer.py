"""``tools/infer.py``: label maps (and overlays) for images, folders and videos.

What is written, under ``--out``:
- ``labels/<name>.png``: the label map of each image (8-bit PNG of train ids, or the
  benchmark's ids with ``--official-ids``); ``<name>`` is the image's path relative to
  the folder given (a file given directly: its name), suffix replaced by ``.png``;
- ``overlays/<name>.png`` with ``--overlay``: the image with its labels' colours and a
  legend of the classes present;
- ``<video name>.mp4`` for each video: the overlay, frame by frame.

Every input is checked before anything is written (a missing path, a folder without
images, an image or video that does not decode: named, exit 2), and every file is
written to a temporary name and renamed, so nothing is ever half-written.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..utils.atomic import TMP_SUFFIX, fsync_and_replace
from .model import DeployError
from .video import VIDEO_SUFFIXES

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Job:
    """One input file and the name (relative, without suffix) its outputs get."""

    source: str
    name: str
    video: bool


def plan(inputs: list[str]) -> list[Job]:
    """The files to process: images and videos given, and the images under folders
    (recursively, sorted). Two inputs whose outputs would share a name are refused."""
    jobs: list[Job] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                raise DeployError(
                    f"{given}: no images in this folder or below it (looked for "
                    f"{', '.join(IMAGE_SUFFIXES)})"
                )
            jobs += [Job(str(p), str(p.relative_to(path).with_suffix("")), False) for p in found]
        elif path.is_file():
            suffix = path.suffix.lower()
            if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
                raise DeployError(
                    f"{given}: not an image ({', '.join(IMAGE_SUFFIXES)}) or a video "
                    f"({', '.join(VIDEO_SUFFIXES)})"
                )
            jobs.append(Job(str(path), path.stem, suffix in VIDEO_SUFFIXES))
        else:
            raise DeployError(f"{given}: no such file or folder")
    seen: dict[tuple[str, bool], str] = {}
    for job in jobs:
        key = (job.name, job.video)
        if key in seen:
            raise DeployError(
                f"{seen[key]} and {job.source} would both be written as {job.name!r}: give "
                "them in separate runs with different --out folders"
            )
        seen[key] = job.source
    return jobs


def check_readable(jobs: list[Job]) -> None:
    """Every image decodes and every video has a frame, before anything is written."""
    import cv2

    from .video import probe

    for job in jobs:
        if job.video:
            probe(job.source)
        elif cv2.imread(job.source, cv2.IMREAD_UNCHANGED) is None:
            raise DeployError(f"Cannot read image {job.source!r}: not a decodable image")


def write_png(path: Path, image: np.ndarray) -> None:
    """An 8-bit PNG (label map or RGB picture), written atomically."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{path}{TMP_SUFFIX}"
    data = image if image.ndim == 2 else image[..., ::-1]  # cv2 writes BGR
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(data))
    if not ok:
        raise DeployError(f"Cannot encode {path} as PNG")
    with open(tmp, "wb") as f:
        f.write(encoded.tobytes())
    fsync_and_replace(tmp, str(path))


def run(
    segmenter,
    jobs: list[Job],
    *,
    out: str,
    overlay: bool = False,
    official_ids: bool = False,
    progress_file=None,
) -> dict[str, int]:
    """Segment the planned, checked ``jobs`` (:func:`plan`, :func:`check_readable`) into
    ``out``; returns counts of images and video frames."""
    from ..utils.progress import Progress
    from .segmenter import read_rgb
    from .video import probe, segment_video

    images = [job for job in jobs if not job.video]
    videos = [job for job in jobs if job.video]
    out_dir = Path(out)
    counts = {"images": 0, "frames": 0}
    progress_file = progress_file or sys.stdout
    if images:
        bar = Progress(len(images), what="images", file=progress_file, every_s=10)
        for start in range(0, len(images), segmenter.batch_size):
            batch = images[start : start + segmenter.batch_size]
            labels = segmenter.predict([job.source for job in batch])
            for job, label in zip(batch, labels):
                saved = segmenter.to_official_ids(label) if official_ids else label
                write_png(out_dir / "labels" / f"{job.name}.png", saved)
                if overlay:
                    picture = segmenter.overlay(read_rgb(job.source), label)
                    write_png(out_dir / "overlays" / f"{job.name}.png", picture)
            bar.update(len(batch))
            counts["images"] += len(batch)
        bar.close()
    for job in videos:
        total, _ = probe(job.source)
        bar = Progress(total, what=f"frames of {job.source}", file=progress_file, every_s=10)
        target = out_dir / f"{job.name}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        counts["frames"] += segment_video(
            job.source,
            str(target),
            predict=segmenter.predict,
            draw=lambda image, labels: segmenter.overlay(image, labels, legend=False),
            batch_size=segmenter.batch_size,
            on_frames=bar.update,
        )
        bar.close()
    return counts
