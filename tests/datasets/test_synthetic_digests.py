"""The built-in data is pinned: every case in ``synthetic_digests.json`` is generated again
and its digest compared, so that a change to the generator that moves one pixel, or
reorders its random draws, fails here.

A case's digest is one SHA-256 over the sorted ``<relative path> <file digest>`` lines of
the root it writes (the built-in marker included). Images are digested by what they hold
(mode, size, pixel values) rather than by their encoded bytes: the same pixels can
compress to other PNG bytes under another zlib build in Pillow, and that is no change to
the data. Everything else (polygon json, marker) is digested byte for byte.

When a change to the scenes is intended, rewrite the fixture and say why in the commit:
``python -m tests.datasets.test_synthetic_digests --update``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import PIL
import pytest
from PIL import Image

from hrnet_seg.datasets.synthetic import make_ade20k, make_cityscapes

FIXTURE = Path(__file__).with_name("synthetic_digests.json")
MAKERS = {"cityscapes": make_cityscapes, "ade20k": make_ade20k}
PINNED = json.loads(FIXTURE.read_text())
CASES = PINNED["cases"]


def _versions() -> dict[str, str]:
    # The random streams come from numpy and the pixels pass through Pillow's codecs:
    # named in a failure, so that a library upgrade is told apart from a code change.
    return {"numpy": np.__version__, "Pillow": PIL.__version__}


def _file_digest(path: Path) -> str:
    if path.suffix in (".png", ".jpg"):
        with Image.open(path) as image:
            pixels = f"{image.mode} {image.size}".encode() + image.tobytes()
        return hashlib.sha256(pixels).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _generate(case: dict, root: Path) -> tuple[int, str]:
    """(number of files, digest) of a case written under ``root``."""
    MAKERS[case["dataset"]](
        root, splits=case["splits"], size=tuple(case["size"]), seed=case["seed"]
    )
    files = sorted(p for p in root.rglob("*") if p.is_file())
    lines = "".join(f"{p.relative_to(root).as_posix()} {_file_digest(p)}\n" for p in files)
    return len(files), hashlib.sha256(lines.encode()).hexdigest()


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_data_matches_its_pinned_digest(name, tmp_path):
    case = CASES[name]
    count, digest = _generate(case, tmp_path / name)
    assert (count, digest) == (case["files"], case["sha256"]), (
        f"{name}: the generator's output changed (fixture made with "
        f"{PINNED['versions']}, this run has {_versions()}); "
        "if the change is intended, see this module's docstring"
    )


def _update() -> None:
    import tempfile

    fixture = json.loads(FIXTURE.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in fixture["cases"].items():
            case["files"], case["sha256"] = _generate(case, Path(tmp) / name)
    fixture["versions"] = _versions()
    FIXTURE.write_text(json.dumps(fixture, indent=2) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.datasets.test_synthetic_digests --update")
    _update()
