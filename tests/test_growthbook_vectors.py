"""GrowthBook's published SDK test vectors (tests/vectors/growthbook/, MIT, vendored with its
licence and commit) against both implementations behind one set of names: the Python module
generator/personalize/growthbook.py (snake_case) and `window.sitegen` in Chromium (camelCase,
from assign.js and growthbook.js). Any cases.json of the same format can be dropped in."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from generator.personalize import growthbook
from generator.runtime import RUNTIME_DIR
from tests.browser import run_with_data

CASES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors/growthbook/cases.json").read_text()
)

FAMILIES: dict[str, tuple[str, str, str]] = {
    # family: (function, JavaScript expression of its arguments from case `c`, expected)
    "hash": ("hash", "[c[0], c[1], c[2]]", "c[3]"),
    "getBucketRange": ("getBucketRanges", "c[1]", "c[2]"),
    "chooseVariation": ("chooseVariation", "[c[1], c[2]]", "c[3]"),
    "getEqualWeights": ("getEqualWeights", "[c[0]]", "c[1]"),
    "inNamespace": ("inNamespace", "[c[1], c[2]]", "c[3]"),
    "evalCondition": ("evalCondition", "[c[2], c[1], c[4]]", "c[3]"),
    "getQueryStringOverride": ("getQueryStringOverride", "[c[1], c[2], c[3]]", "c[4]"),
    "run": ("run", "[c[1], c[2]]", "[c[3], c[4], c[5]]"),
    "feature": ("evalFeature", "[c[1], c[2]]", "c[3]"),
}
"""The families issues 11 and 14 require. (versionCompare is not a family of this version
of the file: its cases are evalCondition's $veq ... $vlte.)"""

SKIPPED = {
    "decrypt": "encrypted payloads: a static build ships its rules in the clear",
    "stickyBucket": "sitegen's sg_x_<experiment> cookies are its sticky buckets",
    "urlRedirect": "redirect experiments navigate away; sitegen serves prebuilt variants "
    "at the page's own URL",
    "contextualBandit": "needs a model evaluated by a server",
}
BANDITS = "contextual bandit rules (contextualBanditRef) need a model evaluated by a server"


def test_every_family_of_the_file_is_run_or_skipped_with_a_reason() -> None:
    families = {key for key, value in CASES.items() if isinstance(value, list)}
    assert families == set(FAMILIES) | set(SKIPPED)


def _args(expression: str, case: list[Any]) -> list[Any]:
    """The Python reading of the JavaScript argument expressions above."""
    found = eval(
        expression.replace("c[4]", "(c[4] if len(c) > 4 else None)"),  # noqa: S307
        {"c": case},
    )
    return list(found)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def _snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), name)


def _python(family: str, case: list[Any]) -> Any:
    function, arguments, _ = FAMILIES[family]
    result = getattr(growthbook, _snake(function))(*_args(arguments, case))
    if family == "run":
        return [result["value"], result["inExperiment"], result["hashUsed"]]
    return result


def _expected(family: str, case: list[Any]) -> Any:
    return (
        _args(FAMILIES[family][2], case)
        if family == "run"
        else eval(FAMILIES[family][2], {"c": case})
    )  # noqa: S307


def _runnable(family: str, case: list[Any]) -> bool:
    """Every case but the contextual bandits' (see BANDITS)."""
    return not (family == "feature" and "contextualBanditRef" in json.dumps(case[1]))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_python(family: str) -> None:
    failed = [
        case[0]
        for case in CASES[family]
        if _runnable(family, case)
        and _rounded(_python(family, case)) != _rounded(_expected(family, case))
    ]
    assert failed == []


def test_only_the_contextual_bandit_cases_are_left_out() -> None:
    left_out = [
        case[0] for family in FAMILIES for case in CASES[family] if not _runnable(family, case)
    ]
    assert left_out and all(family_case.startswith("CB rule") for family_case in left_out)
    assert sum(len(CASES[family]) for family in FAMILIES) - len(left_out) > 400


HARNESS = """
var cases = JSON.parse(document.getElementById("data").textContent);
var families = %(families)s, out = {};
Object.keys(families).forEach(function (family) {
  var spec = families[family];
  out[family] = cases[family].map(function (c) {
    try {
      var result = sitegen[spec[0]].apply(null, eval(spec[1]));
      return family === "run" ? [result.value, result.inExperiment, result.hashUsed] : result;
    } catch (error) {
      return {error: String(error)};
    }
  });
});
document.getElementById("result").textContent = JSON.stringify(out);
"""


def test_runtime_in_chromium() -> None:
    script = "".join((RUNTIME_DIR / name).read_text() for name in ("assign.js", "growthbook.js"))
    results = run_with_data(script, json.dumps(CASES), HARNESS % {"families": json.dumps(FAMILIES)})
    for family in FAMILIES:
        failed = [
            (case[0], got)
            for case, got in zip(CASES[family], results[family], strict=True)
            if _runnable(family, case) and _rounded(got) != _rounded(_expected(family, case))
        ]
        assert failed == [], family


URLS = [
    "http://www.example.com/home",
    "https://www.example.com/home/?utm=x#top",
    "https://example.com/shop/boots/",
    "/guides/hiking/",
    "https://a.example.org/x?y=1&z=2",
]
TARGETS: list[list[dict[str, Any]]] = [
    [{"type": "simple", "include": True, "pattern": "http://www.example.com/home"}],
    [{"type": "simple", "pattern": "www.example.com/home"}],
    [{"type": "simple", "pattern": "/shop/*"}],
    [{"type": "simple", "pattern": "*.example.org/x?y=1"}],
    [{"type": "simple", "pattern": "https://www.example.com/home#top"}],
    [{"type": "regex", "pattern": "^/guides/"}],
    [{"type": "regex", "pattern": "example\\.com/(home|shop)"}],
    [
        {"type": "simple", "pattern": "/shop/*"},
        {"type": "regex", "include": False, "pattern": "boots"},
    ],
    [{"type": "regex", "include": False, "pattern": "x"}],
    [],
]


def test_url_targeting_agrees_in_both_languages() -> None:
    """GrowthBook's urlPatterns (no run vector uses them): the Python port agrees with the
    runtime's, which follows GrowthBook's source, on every pair; and with the urlRedirect
    vectors' targeting."""
    python = [[growthbook.is_url_targeted(url, targets) for targets in TARGETS] for url in URLS]
    script = (RUNTIME_DIR / "assign.js").read_text() + (RUNTIME_DIR / "growthbook.js").read_text()
    harness = """var d = JSON.parse(document.getElementById("data").textContent);
document.getElementById("result").textContent = JSON.stringify(d.urls.map(function (u) {
  return d.targets.map(function (t) { return sitegen.isURLTargeted(u, t); });
}));"""
    browser = run_with_data(script, json.dumps({"urls": URLS, "targets": TARGETS}), harness)
    assert python == browser
    assert any(any(row) for row in python) and not all(all(row) for row in python)
    for _, context, expected in CASES["urlRedirect"]:
        first = next(
            e for e in context["experiments"] if growthbook.run(context, e)["inExperiment"]
        )
        assert growthbook.run(context, first)["value"]["urlRedirect"] == expected[0]["urlRedirect"]
