"""``--filter KEY=VALUE``: W&B queries and tests on local rows."""

from __future__ import annotations

import re

import pytest

from hrnet_seg.leaderboard import (
    BadFilterError,
    Row,
    RunFilter,
    WandbOnlyFilterError,
    mongo_filters,
)


def row(**kw) -> Row:
    return Row(model="m", dataset="cityscapes", source="local", link="", **kw)


@pytest.mark.parametrize(
    "text, query",
    [
        ("group=sweep1", {"group": "sweep1"}),
        ("job_type=train", {"jobType": "train"}),
        ("state=Finished", {"state": "finished"}),
        ("tags=w48, ocr", {"tags": {"$in": ["w48", "ocr"]}}),
        # Config and summary values are typed: a number filter must be a number.
        ("config.train_cfg.max_iters=80000", {"config.train_cfg.max_iters": 80000}),
        ("summary_metrics.gpu_type=cpu", {"summary_metrics.gpu_type": "cpu"}),
        ("config.amp=true", {"config.amp": True}),
    ],
)
def test_to_mongo(text, query):
    assert RunFilter.parse(text).to_mongo() == query


@pytest.mark.parametrize(
    "value, classes",
    [
        ("cityscapes", ["CityscapesDataset", "CheckedCityscapesDataset"]),
        ("CityscapesDataset", ["CityscapesDataset", "CheckedCityscapesDataset"]),
        ("ade20k", ["ADE20KDataset", "CheckedADE20KDataset"]),
    ],
)
def test_dataset_query_matches_the_config_class_names(value, classes):
    query = RunFilter(key="dataset", value=value).to_mongo()
    ((key, cond),) = query.items()
    assert key == "config.train_dataloader.dataset.type"
    assert all(re.search(cond["$regex"], c) for c in classes)
    other = "ADE20KDataset" if "ade" not in value.lower() else "CityscapesDataset"
    assert not re.search(cond["$regex"], other)


def test_mongo_filters_joins_with_and():
    assert mongo_filters([]) == {}
    assert mongo_filters([RunFilter.parse("group=a")]) == {"group": "a"}
    both = mongo_filters([RunFilter.parse("group=a")], [{"jobType": {"$ne": "x"}}])
    assert both == {"$and": [{"group": "a"}, {"jobType": {"$ne": "x"}}]}


def test_matches_local_rows():
    sweep = row(group="sweep1", job_type="train", tags=("w48", "ocr"), status="finished")
    assert RunFilter.parse("group=sweep1").matches(sweep)
    assert not RunFilter.parse("group=sweep2").matches(sweep)
    assert RunFilter.parse("tags=ocr,fcn").matches(sweep)  # any of them
    assert not RunFilter.parse("tags=fcn").matches(sweep)
    assert RunFilter.parse("state=FINISHED").matches(sweep)
    assert RunFilter.parse("dataset=CheckedCityscapesDataset").matches(sweep)
    assert not RunFilter.parse("dataset=ade20k").matches(sweep)
    assert not RunFilter.parse("group=sweep1").matches(row())  # no W&B identity
    with pytest.raises(WandbOnlyFilterError, match="--wandb runs only"):
        RunFilter.parse("config.train_cfg.max_iters=1").matches(sweep)


@pytest.mark.parametrize(
    "text, message",
    [
        ("group", "is not KEY=VALUE"),
        ("=x", "is not KEY=VALUE"),
        ("group=", "has no value"),
        ("colour=red", "unknown filter key 'colour'"),
        ("config.=1", "unknown filter key 'config.'"),
    ],
)
def test_bad_filters_say_what_would_be_right(text, message):
    with pytest.raises(BadFilterError, match=message) as caught:
        RunFilter.parse(text)
    assert "=" in str(caught.value)  # each message shows the KEY=VALUE form


def test_constructor_is_keyword_only_and_typed():
    with pytest.raises(TypeError):
        RunFilter("group", "x")
    with pytest.raises(TypeError, match="strings"):
        RunFilter(key="group", value=3)
