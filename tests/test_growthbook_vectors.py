"""GrowthBook's published SDK test vectors (tests/vectors/growthbook/, MIT, vendored with its
licence and commit) against the Python implementation and the visitor runtime in Chromium.

Families covered so far: hash, getBucketRange, chooseVariation, inNamespace. Still to do
(issue 11): evalCondition (98 of its 248 cases fail today: case-insensitive operators,
version operators, JavaScript coercion across types, null against a missing attribute),
getEqualWeights, versionCompare, run, getQueryStringOverride."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from generator.personalize import hashing
from generator.runtime import RUNTIME_DIR
from tests.browser import dump_dom

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


HARNESS = """
var cases = JSON.parse(document.getElementById("cases").textContent);
var out = {
  hash: cases.hash.map(function (c) { return sitegen.hashUnit(c[0], c[1], c[2]); }),
  getBucketRange: cases.getBucketRange.map(function (c) {
    return sitegen.bucketRanges(c[1][0], c[1][1], c[1][2]);
  }),
  chooseVariation: cases.chooseVariation.map(function (c) {
    return sitegen.chooseArm(c[1], c[2]);
  }),
  inNamespace: cases.inNamespace.map(function (c) { return sitegen.inNamespace(c[1], c[2]); })
};
document.getElementById("result").textContent = JSON.stringify(out);
"""


def test_runtime_hash_buckets_and_namespaces() -> None:
    runtime = (RUNTIME_DIR / "assign.js").read_text()
    cases = json.dumps(CASES).replace("</", "<\\/")
    page = (f'<!doctype html><html><body><pre id="result">not run</pre>'
            f'<script type="application/json" id="cases">{cases}</script>'
            f"<script>{runtime}</script><script>{HARNESS}</script></body></html>")
    dom = dump_dom(page)
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert match, dom[:2000]
    results = json.loads(html.unescape(match.group(1)))
    assert results["hash"] == [case[3] for case in CASES["hash"]]
    assert [rounded(got) for got in results["getBucketRange"]] == [
        rounded(case[2]) for case in CASES["getBucketRange"]]
    assert results["chooseVariation"] == [case[3] for case in CASES["chooseVariation"]]
    assert results["inNamespace"] == [case[3] for case in CASES["inNamespace"]]
