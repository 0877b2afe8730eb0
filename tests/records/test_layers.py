"""Import directions: engine and leaderboard meet only in hrnet_seg/records, which imports
neither (training never depends on the leaderboard); the record files are named there once."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "hrnet_seg"


def imported_modules(path) -> set[str]:
    """Absolute names of the hrnet_seg modules a file imports (relative imports resolved)."""
    parts = ["hrnet_seg", *path.relative_to(PACKAGE).with_suffix("").parts]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return {n for n in names if n.startswith("hrnet_seg.")}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("engine", ("hrnet_seg.leaderboard",)),
        ("leaderboard", ("hrnet_seg.engine",)),
        ("records", ("hrnet_seg.engine", "hrnet_seg.leaderboard", "hrnet_seg.launch")),
    ],
)
def test_no_import_across_engine_and_leaderboard(package, forbidden):
    bad = {
        f"{path.relative_to(REPO)}: {name}"
        for path in (PACKAGE / package).rglob("*.py")
        for name in imported_modules(path)
        if name.startswith(forbidden)
    }
    assert not bad, sorted(bad)


def test_records_import_no_heavy_library():
    heavy = ("torch", "mmengine", "mmseg", "mmcv", "wandb")
    for path in (PACKAGE / "records").rglob("*.py"):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        names = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in top if isinstance(n, ast.ImportFrom)}
        assert not {n for n in names if n.split(".")[0] in heavy}, (path, names)


def test_record_file_names_are_written_once():
    """``results.json``, ``env.json`` and ``benchmark.json`` are named by the records'
    constants; a second literal (a writer's default, a reader's glob) drifts from them."""
    names = {"results.json", "env.json", "benchmark.json"}
    homes = {PACKAGE / "records" / "run_files.py", PACKAGE / "records" / "benchmark_file.py"}
    literals = sorted(
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        if path not in homes
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in names
    )
    assert not literals, literals
