"""The visitor runtime in headless Chromium against the same vectors as Python."""

from __future__ import annotations

import json
from pathlib import Path

from generator.runtime import RUNTIME_DIR
from tests.browser import run_with_data

VECTORS = (Path(__file__).parent / "vectors/personalization.json").read_text()

HARNESS = """
var vectors = JSON.parse(document.getElementById("data").textContent);
var out = {hash: [], bucketRanges: [], assign: [], conditions: []};
vectors.hash.forEach(function (c) { out.hash.push(sitegen.hash(c[0], c[1], c[2])); });
vectors.bucketRanges.forEach(function (c) {
  out.bucketRanges.push(sitegen.getBucketRanges(c[0], c[1], c[2]));
});
vectors.assign.forEach(function (c) { out.assign.push(sitegen.assign(c[0], c[1])); });
vectors.conditions.forEach(function (c) {
  out.conditions.push(sitegen.evalCondition(c[2], c[1]));
});
var split = [0, 0, 0];
for (var i = 0; i < 10000; i++) {
  split[sitegen.assign("visitor-" + i, {key: "split-test", arms: 3, weights: [0.5, 0.3, 0.2]})]++;
}
out.split = split;
document.getElementById("result").textContent = JSON.stringify(out);
"""


def test_runtime_agrees_with_the_shared_vectors() -> None:
    results = run_with_data((RUNTIME_DIR / "assign.js").read_text(), VECTORS, HARNESS)
    vectors = json.loads(VECTORS)
    assert results["hash"] == [case[3] for case in vectors["hash"]]
    assert results["bucketRanges"] == [case[3] for case in vectors["bucketRanges"]]
    assert results["assign"] == [case[2] for case in vectors["assign"]]
    mismatches = [
        (case[0], got)
        for case, got in zip(vectors["conditions"], results["conditions"], strict=True)
        if got is not case[3]
    ]
    assert mismatches == []
    for count, weight in zip(results["split"], [0.5, 0.3, 0.2], strict=True):
        assert abs(count / 10_000 - weight) <= 0.02
