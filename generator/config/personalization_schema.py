"""The `segments`, `rules`, `experiments` and `personalization` keys of `site.yaml`.

Each is a mapping keyed by id, so it inherits down the `extends` tree like every other key:
a child redefines an entry by its id, or disables an inherited one with `<id>: false`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from generator.conditions import ConditionError, check_condition
from generator.config.schema import (
    Bool,
    CheckContext,
    Choice,
    Int,
    ListOf,
    MapOf,
    Number,
    Option,
    Section,
    Str,
)
from generator.config.sourced_yaml import KeyPath

ID_PATTERN = r"[a-z0-9][a-z0-9_-]*"


class ConditionOption(Option):
    """A condition in the operator language, checked where it is written."""

    expected = "a condition (a mapping of attribute paths to values or operators)"

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        try:
            check_condition(value)
        except ConditionError as error:
            raise context.fail((*path, *error.path), str(error)) from None
        return value


class WhenOption(Option):
    """A rule's `when`: the name of a segment, or `{condition: ...}` inline."""

    expected = "a segment name or {condition: ...}"

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and set(value) == {"condition"}:
            ConditionOption().check(value["condition"], (*path, "condition"), context)
            return value
        raise self.wrong_type(value, path, context)


class ArmsOption(Option):
    """Experiment arms in order: `{control: 0.5, bold: 0.5}`, or each arm a mapping with a
    `weight` and what it changes."""

    expected = "a mapping of arm names to weights or to {weight, markdown|partial|template}"

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if not isinstance(value, dict):
            raise self.wrong_type(value, path, context)
        arms = {}
        for name, arm in value.items():
            where = (*path, name)
            if not isinstance(name, str) or not MapOf(ARM).key_pattern.fullmatch(name):
                raise context.fail(
                    where, "expected an arm name of lower-case letters, digits, '-' and '_'"
                )
            if isinstance(arm, (int, float)) and not isinstance(arm, bool):
                arm = {"weight": arm}
            arms[name] = ARM.check(arm, where, context)
        return arms


class DateOption(Option):
    """A calendar day: YAML's own date (`2027-01-31`) or the same as a string."""

    expected = "a date (YYYY-MM-DD)"

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.wrong_type(value, path, context)


def analysis_fields(defaults: bool) -> dict[str, Option]:
    """The decision rule of an experiment. At the top of a site (the network's root site)
    with defaults; in an experiment without, so that what it leaves out is inherited."""

    def given(value: Any) -> Any:
        return value if defaults else None

    return {
        "engine": Choice(
            ("sequential", "frequentist", "bayesian"),
            "statistics: sequential (valid however often checked), frequentist (one look at "
            "a planned sample) or bayesian",
            default=given("sequential"),
        ),
        "alpha": Number(
            "false-positive rate (frequentist, sequential); intervals are at 1 - alpha",
            default=given(0.05),
        ),
        "chance_to_win": Number(
            "bayesian: chance to beat control a winner needs",
            default=given(0.95),
            minimum=0.5,
            maximum=1,
        ),
        "max_loss": Number(
            "bayesian: the largest expected loss (in conversion rate) a winner may carry",
            default=given(0.001),
            minimum=0,
        ),
        "mde": Number(
            "minimum detectable effect, relative (0.1: a 10% lift), for planning",
            default=given(0.1),
            minimum=0,
        ),
        "min_visitors": Int(
            "exposed visitors each arm needs before any verdict",
            default=given(100),
            minimum=1,
        ),
        "min_conversions": Int(
            "conversions of the primary goal each arm needs before any verdict",
            default=given(25),
            minimum=0,
        ),
        "min_days": Number(
            "days the experiment must run before any verdict", default=given(7), minimum=0
        ),
        "deadline": DateOption("the day by which it must be decided"),
        "on_deadline": Choice(
            ("keep-control", "keep-running"),
            "what happens without a result by the deadline",
            default=given("keep-control"),
        ),
    }


EXPERIMENT_ANALYSIS = {
    **analysis_fields(defaults=False),
    "primary": Str("the goal id that decides (default: the first goal)"),
    "guardrails": ListOf(
        Section(
            {
                "metric": Str(
                    "a goal id, 'bounce' or 'pages-per-visit'",
                    required=True,
                ),
                "margin": Number(
                    "relative worsening tolerated (0.05: 5%) before it blocks a winner",
                    default=0.0,
                    minimum=0,
                ),
            }
        ),
        "metrics that must not get worse",
    ),
}

CHANGE_FIELDS: dict[str, Option] = {
    "markdown": Str("name of the variant text next to each page: <page>.variants/<slot>.<name>.md"),
    "partial": Str("a template rendered in place of the slot's default content"),
    "template": Str("render the page with this template instead"),
}

ARM = Section(
    {
        "weight": Number("share of enrolled visitors", required=True, minimum=0, maximum=1),
        **CHANGE_FIELDS,
    }
)

SEGMENT = Section(
    {
        "description": Str("who this is", default=""),
        "condition": ConditionOption("when a visitor belongs to the segment", required=True),
    },
    allow_false=True,
)

RULE = Section(
    {
        "when": WhenOption(
            "the segment (or inline condition) that triggers the rule", required=True
        ),
        "pages": ListOf(Str(), "URL globs of the pages the rule applies to", default=["/**"]),
        "priority": Int("higher wins when several rules change one slot", default=0),
        "then": Section(
            {
                "slot": Str("the slot to change (with markdown or partial)"),
                **CHANGE_FIELDS,
                "page": Str("replace the whole page with this Markdown file (project-relative)"),
            },
            required=True,
        ),
    },
    allow_false=True,
)

EXPERIMENT = Section(
    {
        "key": Str(
            "tracking key (default: the id)",
            pattern=ID_PATTERN,
            pattern_doc="lower-case letters, digits, '-' and '_'",
        ),
        "arms": ArmsOption("arms in order, with weights summing to 1", required=True),
        "coverage": Number("share of visitors enrolled", default=1.0, minimum=0, maximum=1),
        "seed": Str("hash seed (default: the key)"),
        "hash_version": Int("GrowthBook hash version", default=2, minimum=1),
        "bucket_version": Int("bump to re-enrol every visitor", default=1, minimum=1),
        "pages": ListOf(Str(), "URL globs of the pages the experiment runs on", default=["/**"]),
        "slot": Str("the slot the arms change"),
        "goals": ListOf(
            Section(
                {
                    "id": Str(
                        "stable name in the events and reports (default: from the page or "
                        "selector)",
                        pattern=ID_PATTERN,
                        pattern_doc="lower-case letters, digits, '-' and '_'",
                    ),
                    "page": Str("a URL reached"),
                    "click": Str("a CSS selector"),
                    "within": Str(
                        "how long after exposure a conversion counts: 'visit' (the same "
                        "visit) or a number of days such as '7d'",
                        default="visit",
                        pattern=r"visit|[1-9][0-9]{0,2}d",
                        pattern_doc="'visit' or days such as '7d'",
                    ),
                }
            ),
            "what counts as a conversion",
            default=[],
        ),
        "status": Choice(("draft", "running", "stopped", "concluded"), default="draft"),
        "analysis": Section(EXPERIMENT_ANALYSIS),
        "decision": Section(
            {
                "date": DateOption("the day it was decided"),
                "engine": Str("the statistics that decided"),
                "goal": Str("the primary goal"),
                "reason": Str("the verdict's figures"),
                "visitors": MapOf(Int(minimum=0), "exposed visitors per arm"),
                "conversions": MapOf(Int(minimum=0), "conversions of the goal per arm"),
            },
            "what `sitegen experiments decide --write` recorded",
        ),
        "winner": Str("the arm everyone gets once concluded"),
        "namespace": Section(
            {
                "name": Str("namespace shared by mutually exclusive experiments", required=True),
                "range": ListOf(
                    Number(minimum=0, maximum=1), "[start, end) of this experiment", required=True
                ),
            }
        ),
    },
    allow_false=True,
)

PERSONALIZATION_FIELDS: dict[str, Option] = {
    "segments": MapOf(SEGMENT, "audiences, by id", key_pattern=ID_PATTERN),
    "rules": MapOf(RULE, "personalization rules, by id", key_pattern=ID_PATTERN),
    "experiments": MapOf(EXPERIMENT, "A/B(n) experiments, by id", key_pattern=ID_PATTERN),
    "analysis": Section(
        analysis_fields(defaults=True),
        "how experiments are decided, unless one says otherwise",
    ),
    "analytics": Section(
        {
            "enabled": Bool("send page views and goals through the tracking pixel", default=True),
            "consent": Choice(
                ("not_required", "required"),
                "with 'required', nothing is sent until the page calls sitegen.consent(true)",
                default="not_required",
            ),
            "respect_dnt": Bool("send nothing when the browser says Do Not Track", default=True),
            "collector": Str("also sendBeacon each event as JSON to this URL"),
        }
    ),
    "personalization": Section(
        {
            "max_variants": Int("most variant files one page may have", default=64, minimum=1),
            "cookie_prefix": Str(
                "prefix of the assignment cookies",
                default="sg_",
                pattern=r"[a-z][a-z0-9_]*",
                pattern_doc="a cookie name prefix",
            ),
            "routing": Bool("emit .htaccess and _headers/_redirects rules", default=True),
            "cookie_domain": Str(
                "a parent domain the network's sites share (example.com): the visitor id is "
                "one cookie across their subdomains, so the network report follows visitors "
                "between sites",
                default="",
                pattern=r"\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+",
                pattern_doc="a domain name such as example.com",
            ),
        }
    ),
}
