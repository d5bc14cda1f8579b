"""GrowthBook's published SDK test vectors (tests/vectors/growthbook/, MIT, vendored with its
licence and commit) against the Python implementation and the visitor runtime in Chromium.

Families covered so far: hash, getBucketRange, chooseVariation, inNamespace, evalCondition
(saved groups included). Still to do (issue 11): getEqualWeights, run,
getQueryStringOverride."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.personalize import hashing
from generator.runtime import RUNTIME_DIR
from tests.browser import run_with_data

CASES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors/growthbook/cases.json").read_text())


def rounded(ranges: Any) -> list[list[float]]:
    return [[round(start, 6), round(end, 6)] for start, end in ranges]


def test_python_hash_buckets_and_namespaces() -> None:
    for seed, value, version, expected in CASES["hash"]:
        assert hashing.hash_unit(seed, value, version) == expected, (seed, value, version)
    for name, (count, coverage, weights), expected in CASES["getBucketRange"]:
        assert rounded(hashing.bucket_ranges(count, coverage, weights)) == rounded(expected), \
            name
    for name, unit, ranges, expected in CASES["chooseVariation"]:
        assert hashing.choose_arm(unit, [tuple(r) for r in ranges]) == expected, name
    for name, visitor, namespace, expected in CASES["inNamespace"]:
        assert hashing.in_namespace(visitor, tuple(namespace)) == expected, name


def test_python_conditions() -> None:
    from generator.personalize.conditions import evaluate

    failed = [case[0] for case in CASES["evalCondition"]
              if evaluate(case[1], case[2], case[4] if len(case) > 4 else None) is not case[3]]
    assert failed == []


HARNESS = """
var cases = JSON.parse(document.getElementById("data").textContent);
var out = {
  hash: cases.hash.map(function (c) { return sitegen.hashUnit(c[0], c[1], c[2]); }),
  getBucketRange: cases.getBucketRange.map(function (c) {
    return sitegen.bucketRanges(c[1][0], c[1][1], c[1][2]);
  }),
  chooseVariation: cases.chooseVariation.map(function (c) {
    return sitegen.chooseArm(c[1], c[2]);
  }),
  inNamespace: cases.inNamespace.map(function (c) { return sitegen.inNamespace(c[1], c[2]); }),
  evalCondition: cases.evalCondition.map(function (c) {
    return sitegen.evalCondition(c[2], c[1], c[4]);
  })
};
document.getElementById("result").textContent = JSON.stringify(out);
"""


def test_runtime_hash_buckets_and_namespaces() -> None:
    results = run_with_data((RUNTIME_DIR / "assign.js").read_text(), json.dumps(CASES),
                            HARNESS)
    assert results["hash"] == [case[3] for case in CASES["hash"]]
    assert [rounded(got) for got in results["getBucketRange"]] == [
        rounded(case[2]) for case in CASES["getBucketRange"]]
    assert results["chooseVariation"] == [case[3] for case in CASES["chooseVariation"]]
    assert results["inNamespace"] == [case[3] for case in CASES["inNamespace"]]
    failed = [case[0] for case, got in zip(CASES["evalCondition"], results["evalCondition"],
                                           strict=True) if got is not case[3]]
    assert failed == []
