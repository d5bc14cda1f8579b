"""Assignment and conditions in Python, against the vectors the browser runtime shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.conditions import ConditionError, check_condition, evaluate
from generator.personalize.hashing import assign, bucket_ranges, hash_unit

VECTORS = json.loads((Path(__file__).parent / "vectors/personalization.json").read_text())


@pytest.mark.parametrize(("seed", "value", "version", "expected"), VECTORS["hash"])
def test_hash(seed: str, value: str, version: int, expected: float | None) -> None:
    assert hash_unit(seed, value, version) == expected


@pytest.mark.parametrize(("arms", "coverage", "weights", "expected"), VECTORS["bucketRanges"])
def test_bucket_ranges(
    arms: int, coverage: float, weights: list[float] | None, expected: list[list[float]]
) -> None:
    assert [list(r) for r in bucket_ranges(arms, coverage, weights)] == expected


@pytest.mark.parametrize(("visitor", "experiment", "expected"), VECTORS["assign"])
def test_assign(visitor: str, experiment: dict[str, Any], expected: int) -> None:
    namespace = experiment.get("namespace")
    assert (
        assign(
            visitor,
            experiment["key"],
            experiment["arms"],
            weights=experiment.get("weights"),
            coverage=experiment.get("coverage", 1.0),
            seed=experiment.get("seed"),
            hash_version=experiment.get("hashVersion", 2),
            namespace=tuple(namespace) if namespace else None,
        )
        == expected
    )


@pytest.mark.parametrize(
    ("name", "condition", "attributes", "expected"),
    VECTORS["conditions"],
    ids=[c[0] for c in VECTORS["conditions"]],
)
def test_condition(
    name: str, condition: dict[str, Any], attributes: dict[str, Any], expected: bool
) -> None:
    check_condition(condition)
    assert evaluate(condition, attributes) is expected


def test_ten_thousand_visitors_split_within_two_percent_of_the_weights() -> None:
    weights = [0.5, 0.3, 0.2]
    counts = [0, 0, 0]
    for number in range(10_000):
        counts[assign(f"visitor-{number}", "split-test", 3, weights=weights)] += 1
    for count, weight in zip(counts, weights, strict=True):
        assert abs(count / 10_000 - weight) <= 0.02, counts


def test_lowering_coverage_never_moves_an_enrolled_visitor() -> None:
    for number in range(3_000):
        visitor = f"v{number}"
        full = assign(visitor, "cover", 3, weights=[0.2, 0.3, 0.5], coverage=1.0)
        for coverage in (0.8, 0.5, 0.2, 0.05):
            partial = assign(visitor, "cover", 3, weights=[0.2, 0.3, 0.5], coverage=coverage)
            assert partial in (-1, full)


def test_disjoint_namespace_slices_never_share_a_visitor() -> None:
    for number in range(2_000):
        visitor = f"n{number}"
        first = assign(visitor, "a", 2, namespace=("hero", 0.0, 0.5))
        second = assign(visitor, "b", 2, namespace=("hero", 0.5, 1.0))
        assert first == -1 or second == -1
        assert (first == -1) != (second == -1)


@pytest.mark.parametrize(
    ("condition", "message", "path"),
    [
        ({"visits": {"$gtt": 3}}, "unknown operator '$gtt'", ("visits", "$gtt")),
        ({"$xor": []}, "unknown operator '$xor'", ("$xor",)),
        ({"language": {"$in": "de"}}, "'$in' expects a list", ("language", "$in")),
        ({"ref": {"$regex": "("}}, "invalid regular expression", ("ref", "$regex")),
        ({"$or": [{"a": {"$bad": 1}}]}, "unknown operator '$bad'", ("$or", 0, "a", "$bad")),
        ({"a": {"$eq": 1, "b": 2}}, "cannot mix operators", ("a",)),
        ([1], "expected a mapping", ()),
    ],
)
def test_malformed_conditions_are_refused(
    condition: Any, message: str, path: tuple[Any, ...]
) -> None:
    with pytest.raises(
        ConditionError, match=message.replace("$", r"\$").replace("(", r"\(")
    ) as raised:
        check_condition(condition)
    assert raised.value.path == path
