"""Reading an offline W&B run back without a server: the ``run-<id>.wandb`` file.

The file is a LevelDB log (https://github.com/google/leveldb/blob/main/doc/log_format.md)
after a 7-byte W&B header (``":W&B"``, magic ``0xBEE1``, version 0): 32 KiB blocks of
records, each with a 7-byte header (CRC-32 of type byte + payload, little-endian
length, type) and a FULL payload or a FIRST / MIDDLE... / LAST chain of fragments. A
payload is one serialized ``wandb.proto.wandb_internal_pb2.Record``. The reader in
wandb's SDK (``wandb.sdk.internal.datastore``) is gone since the Go core writes the
file, hence this one. Only the protobuf classes come from wandb, imported lazily.

Example:
    >>> run = read_run(next(Path(work_dir).glob("wandb/*/run-*.wandb")))  # doctest: +SKIP
    >>> run.history[0]["train/loss"], run.summary["best_mIoU"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["WandbRun", "find_run_files", "iter_records", "read_run"]

_FILE_HEADER = struct.Struct("<4sHB")  # ident, magic, version
_IDENT, _MAGIC, _VERSION = b":W&B", 0xBEE1, 0
_RECORD_HEADER = struct.Struct("<IHB")  # crc32, length, type
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


class WandbFileError(ValueError):
    """The file is not a W&B run log, or a record is corrupt."""


def _payloads(data: bytes, *, path: str) -> Iterator[bytes]:
    if len(data) < _FILE_HEADER.size:
        raise WandbFileError(f"{path}: {len(data)} bytes, too short for a W&B run file")
    ident, magic, version = _FILE_HEADER.unpack_from(data, 0)
    if (ident, magic, version) != (_IDENT, _MAGIC, _VERSION):
        raise WandbFileError(
            f"{path}: header {ident!r} {magic:#x} v{version} is not a W&B run file "
            f"(expected {_IDENT!r} {_MAGIC:#x} v{_VERSION})"
        )
    pos, pending = _FILE_HEADER.size, None
    while pos < len(data):
        left_in_block = _BLOCK - pos % _BLOCK
        if left_in_block < _RECORD_HEADER.size:  # zero padding at a block's end
            pos += left_in_block
            continue
        if pos + _RECORD_HEADER.size > len(data):
            break  # a torn header at the end of a file still being written
        crc, length, kind = _RECORD_HEADER.unpack_from(data, pos)
        if crc == 0 and length == 0 and kind == 0:  # preallocated, never written
            pos += left_in_block
            continue
        start = pos + _RECORD_HEADER.size
        chunk = data[start : start + length]
        if len(chunk) < length:
            break  # torn last record
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            raise WandbFileError(f"{path}: CRC mismatch in the record at byte {pos}")
        pos = start + length
        if kind == _FULL:
            pending = None
            yield chunk
        elif kind == _FIRST:
            pending = bytearray(chunk)
        elif kind in (_MIDDLE, _LAST):
            if pending is None:
                raise WandbFileError(f"{path}: record fragment without a FIRST at byte {pos}")
            pending += chunk
            if kind == _LAST:
                yield bytes(pending)
                pending = None
        else:
            raise WandbFileError(f"{path}: unknown record type {kind} at byte {pos}")


def iter_records(path: str | Path) -> Iterator[Any]:
    """Every ``wandb_internal_pb2.Record`` of a ``.wandb`` file, in order."""
    from wandb.proto import wandb_internal_pb2

    path = Path(path)
    for payload in _payloads(path.read_bytes(), path=str(path)):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        yield record


def _items(items) -> dict[str, Any]:
    """``HistoryItem`` / ``SummaryItem`` / ``ConfigItem`` lists -> ``{"a/b": value}``."""
    out = {}
    for item in items:
        key = "/".join(item.nested_key) if item.nested_key else item.key
        try:
            out[key] = json.loads(item.value_json)
        except json.JSONDecodeError:
            out[key] = item.value_json
    return out


@dataclass
class WandbRun:
    """What an offline run logged, as plain Python values."""

    run_id: str = ""
    project: str = ""
    name: str = ""
    group: str = ""
    job_type: str = ""
    tags: list[str] = field(default_factory=list)
    resumed: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # one dict per step
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)  # metric -> its step metric
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    exit_code: int | None = None


def read_run(path: str | Path) -> WandbRun:
    """Replay a ``run-<id>.wandb`` file into a :class:`WandbRun`.

    Config and summary updates are applied in order (later values win, removals
    honoured); each history record becomes one row with its ``_step``.
    """
    run = WandbRun()
    for record in iter_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run.run_id, run.project, run.name = r.run_id, r.project, r.display_name
            run.group, run.job_type, run.tags = r.run_group, r.job_type, list(r.tags)
            run.resumed = run.resumed or r.resumed
            run.config.update(_items(r.config.update))
            run.summary.update(_items(r.summary.update))
        elif kind == "config":
            run.config.update(_items(record.config.update))
            for key in _items(record.config.remove):
                run.config.pop(key, None)
        elif kind == "history":
            row = _items(record.history.item)
            if record.history.HasField("step") and "_step" not in row:
                row["_step"] = record.history.step.num
            run.history.append(row)
        elif kind == "summary":
            run.summary.update(_items(record.summary.update))
            for key in _items(record.summary.remove):
                run.summary.pop(key, None)
        elif kind == "metric":
            m = record.metric
            name = m.name or m.glob_name
            run.metrics[name] = m.step_metric
        elif kind == "artifact":
            a = record.artifact
            run.artifacts.append(
                {"name": a.name, "type": a.type, "files": [e.path for e in a.manifest.contents]}
            )
        elif kind == "files":
            run.files.extend(f.path for f in record.files.files)
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    # wandb's config values are {"value": v, "desc": ...}; keep the values.
    run.config = {
        k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in run.config.items()
    }
    return run


def find_run_files(work_dir: str | Path, *, recursive: bool = False) -> list[Path]:
    """The ``run-*.wandb`` files of a work dir (``WORK_DIR/wandb/*run-*/``), oldest run
    directory first (their names start with the start time). ``recursive`` finds them
    anywhere below ``work_dir``: a folder of work dirs, a copied ``wandb`` dir, one
    ``offline-run-*`` dir."""
    root = Path(work_dir)
    found = root.rglob("run-*.wandb") if recursive else root.glob("wandb/*run-*/run-*.wandb")
    # wandb names the run dir (offline-)run-<time>-<id>; other files are not run logs.
    runs = [p for p in found if p.is_file() and "run-" in p.parent.name]
    return sorted(runs, key=lambda p: (p.parent.name, str(p)))
