"""Video in, video out, through PyAV (FFmpeg's libraries, from the package index).

Frames are decoded as RGB, segmented in batches, overlaid (no legend: a video keeps its
size) and encoded as H.264 (yuv420p, the format every player reads) at the input's
frame rate. The output is written to a temporary file and renamed when complete, so a
failed or interrupted run leaves no half-written video.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from fractions import Fraction

import numpy as np

from .model import DeployError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


def _av():
    from .onnx import require

    return require("av")


def probe(path: str) -> tuple[int, Fraction]:
    """(frame count, or 0 if the container does not say; frame rate) of a video that
    decodes, else a :class:`DeployError` naming it: checked before anything is written."""
    av = _av()
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise DeployError(f"Cannot decode video {path!r}: it has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            frames = int(stream.frames or 0)
            first = next(container.decode(stream), None)
    except DeployError:
        raise
    except Exception as exc:  # av.error.* for files FFmpeg cannot read
        raise DeployError(f"Cannot decode video {path!r}: {exc}") from None
    if first is None:
        raise DeployError(f"Cannot decode video {path!r}: no frame decodes")
    return frames, Fraction(rate)


def frames(path: str) -> Iterator[np.ndarray]:
    """The frames of a video as H x W x 3 uint8 RGB."""
    av = _av()
    try:
        with av.open(path) as container:
            for frame in container.decode(container.streams.video[0]):
                yield frame.to_ndarray(format="rgb24")
    except Exception as exc:
        raise DeployError(f"Cannot decode video {path!r}: {exc}") from None


def write_video(
    path: str, images: Iterator[np.ndarray], *, rate: Fraction, codec: str = "libx264"
) -> int:
    """Encode RGB frames into ``path`` (atomically); returns the number of frames."""
    av = _av()
    tmp = f"{path}.tmp{os.path.splitext(path)[1]}"
    count = 0
    try:
        with av.open(tmp, mode="w") as container:
            stream = None
            for image in images:
                if stream is None:
                    stream = container.add_stream(codec, rate=rate)
                    # yuv420p needs even sides: the encoder gets the frame cropped by at
                    # most one pixel row / column.
                    stream.height, stream.width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
                    stream.pix_fmt = "yuv420p"
                image = image[: stream.height, : stream.width]
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
                count += 1
            if stream is not None:
                for packet in stream.encode():
                    container.mux(packet)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return count


def segment_video(
    path: str,
    out: str,
    *,
    predict: Callable[[list[np.ndarray]], list[np.ndarray]],
    draw: Callable[[np.ndarray, np.ndarray], np.ndarray],
    batch_size: int,
    on_frames: Callable[[int], None] = lambda n: None,
) -> int:
    """``path``'s frames, segmented ``batch_size`` at a time and drawn, into ``out``."""
    _, rate = probe(path)

    def drawn() -> Iterator[np.ndarray]:
        batch: list[np.ndarray] = []
        for image in frames(path):
            batch.append(image)
            if len(batch) == batch_size:
                yield from _drawn_batch(batch, predict, draw)
                on_frames(len(batch))
                batch = []
        if batch:
            yield from _drawn_batch(batch, predict, draw)
            on_frames(len(batch))

    return write_video(out, drawn(), rate=rate)


def _drawn_batch(batch, predict, draw) -> Iterator[np.ndarray]:
    for image, labels in zip(batch, predict(batch)):
        yield draw(image, labels)
