"""Segments, rules and experiments in site config: inheritance, overrides, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.config import load_network
from generator.errors import ConfigError
from tests.conftest import edit


def test_personalization_is_inherited_and_overridable_by_id(project: Path) -> None:
    network = load_network(project)
    region = network.sites["region"].personalization
    assert [s.id for s in region.segments] == ["newsletter", "returning"]
    assert region.rules[0].segment == "newsletter"
    assert region.rules[0].condition == {"utm.source": "newsletter"}
    experiment = region.experiments[0]
    assert (experiment.key, experiment.seed, experiment.status) == (
        "hero-test",
        "hero-test",
        "running",
    )
    assert [(arm.name, arm.weight) for arm in experiment.arms] == [("control", 0.5), ("bold", 0.5)]
    assert experiment.arms[0].change.empty
    assert experiment.arms[1].change.partial == "partials/hero-bold.html"
    other = network.sites["other"].personalization
    # a redefined condition replaces the inherited one instead of merging into it
    assert {s.id: s.condition for s in other.segments}["newsletter"] == {"utm.campaign": "spring"}
    assert other.experiments == ()  # disabled by id
    assert (
        str(network.sites["other"].locations[("experiments", "hero-test")])
        == "sites/other/site.yaml:13"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    when: newsletter",
            "    when: newsleter",
            r"sites/root/site.yaml:\d+: rules.newsletter-hero.when: segment 'newsleter' does not "
            r"exist \(did you mean 'newsletter'\?\)",
        ),
        (
            "      control: 0.5",
            "      control: 0.4",
            r"sites/root/site.yaml:\d+: experiments.hero-test.arms: weights sum to 0.9; expected 1",
        ),
        (
            "      control: 0.5\n",
            "",
            r"experiments.hero-test.arms: expected at least two arms, got 1",
        ),
        (
            "      visits: {$gte: 2}",
            "      visits: {$gtee: 2}",
            r"sites/root/site.yaml:\d+: segments.returning.condition.visits.\$gtee: "
            r"unknown operator '\$gtee'",
        ),
        (
            "      utm.source: newsletter",
            "      utm.source: {$in: newsletter}",
            r"segments.newsletter.condition.utm.source.\$in: '\$in' expects a list",
        ),
        (
            "    status: running",
            "    status: live",
            r"experiments.hero-test.status: expected one of draft, running, stopped, concluded",
        ),
        (
            "    status: running",
            "    status: concluded",
            r"experiments.hero-test: a concluded experiment needs a 'winner'",
        ),
        (
            "    status: running",
            "    status: running\n    winner: blod",
            r"experiments.hero-test.winner: arm 'blod' does not exist \(did you mean 'bold'\?\)",
        ),
        (
            "      markdown: newsletter",
            "      template: x.html\n      markdown: newsletter\n      partial: y.html",
            r"expected one of 'markdown' or 'partial', not both",
        ),
    ],
)
def test_bad_personalization_config(project: Path, old: str, new: str, expected: str) -> None:
    edit(project / "sites/root/site.yaml", old, new)
    with pytest.raises(ConfigError, match=expected):
        load_network(project)


def test_duplicate_experiment_key_in_one_site(project: Path) -> None:
    edit(
        project / "sites/root/site.yaml",
        "experiments:\n",
        "experiments:\n  second:\n    key: hero-test\n    arms: {a: 0.5, b: 0.5}\n",
    )
    with pytest.raises(
        ConfigError,
        match=r"sites/root/site.yaml:\d+: experiments.second: key "
        r"'hero-test' is already used by experiment "
        r"'hero-test'",
    ):
        load_network(project)


def test_goals_have_stable_ids_and_windows(project: Path) -> None:
    edit(
        project / "sites/root/site.yaml",
        "      - page: /articles/\n",
        "      - page: /articles/\n      - click: .hero a.bold\n        within: 7d\n"
        "      - id: signup\n        page: /\n",
    )
    goals = load_network(project).sites["root"].personalization.experiments[0].goals
    assert [(g.id, g.page, g.click, g.within_days) for g in goals] == [
        ("articles", "/articles/", None, None),
        ("hero-a-bold", None, ".hero a.bold", 7),
        ("signup", "/", None, None),
    ]
    assert str(goals[1].location).startswith("sites/root/site.yaml:")


@pytest.mark.parametrize(
    ("goals", "expected"),
    [
        (
            "      - page: /articles/\n        click: a\n",
            r"sites/root/site.yaml:\d+: experiments.hero-test.goals\[0\]: expected one of "
            r"'page' \(a URL reached\) or 'click'",
        ),
        (
            "      - page: /articles/\n      - page: /articles\n",
            r"experiments.hero-test.goals\[1\]: goal id 'articles' is used twice",
        ),
        (
            "      - page: /articles/\n        within: 3 days\n",
            r"goals\[0\].within: .*'visit' or days such as '7d'",
        ),
    ],
)
def test_bad_goals(project: Path, goals: str, expected: str) -> None:
    edit(project / "sites/root/site.yaml", "      - page: /articles/\n", goals)
    with pytest.raises(ConfigError, match=expected):
        load_network(project)


def test_analysis_inherits_from_the_site_and_is_checked(project: Path) -> None:
    edit(
        project / "sites/root/site.yaml",
        "experiments:\n",
        "analysis:\n  engine: bayesian\n  min_days: 14\n  deadline: 2027-01-31\nexperiments:\n",
    )
    edit(
        project / "sites/root/site.yaml",
        "    status: running",
        "    status: running\n    analysis:\n      engine: frequentist\n      alpha: 0.01\n"
        "      guardrails:\n        - metric: bounce\n          margin: 0.05",
    )
    analysis = load_network(project).sites["brand"].personalization.experiments[0].analysis
    assert (analysis.engine, analysis.alpha, analysis.min_days, analysis.min_visitors) == (
        "frequentist",
        0.01,
        14,
        100,
    )
    assert analysis.deadline is not None and analysis.deadline.isoformat() == "2027-01-31"
    assert analysis.primary == "articles"
    assert [(g.metric, g.margin) for g in analysis.guardrails] == [("bounce", 0.05)]


@pytest.mark.parametrize(
    ("analysis", "expected"),
    [
        (
            "      alpha: 1.5\n",
            r"sites/root/site.yaml:\d+: experiments.hero-test.analysis.alpha: alpha must be "
            r"between 0 and 1 \(exclusive\), got 1.5",
        ),
        (
            "      primary: articels\n",
            r"analysis.primary: goal 'articels' does not exist \(did you mean 'articles'\?\)",
        ),
        (
            "      guardrails:\n        - metric: bounces\n",
            r"guardrails\[0\].metric: expected a goal id of the experiment or one of bounce, "
            r"pages-per-visit, not-found, got 'bounces' \(did you mean 'bounce'\?\)",
        ),
        ("      engine: magic\n", r"analysis.engine: expected one of sequential, frequentist"),
    ],
)
def test_bad_analysis(project: Path, analysis: str, expected: str) -> None:
    edit(
        project / "sites/root/site.yaml",
        "    status: running",
        "    status: running\n    analysis:\n" + analysis.rstrip("\n"),
    )
    with pytest.raises(ConfigError, match=expected):
        load_network(project)


def test_a_running_experiment_needs_goals(project: Path) -> None:
    edit(project / "sites/root/site.yaml", "    goals:\n      - page: /articles/\n", "")
    with pytest.raises(
        ConfigError,
        match=r"sites/root/site.yaml:\d+: experiments.hero-test: a running experiment needs "
        r"'goals'",
    ):
        load_network(project)
