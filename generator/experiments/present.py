"""Where a site's experiments stand, for people (text) and for programs (JSON)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from generator.analytics.store import EventStore
from generator.config.model import SiteConfig
from generator.experiments import history
from generator.experiments.exposure import BOUNCE, NOT_FOUND, PAGES, experiment_data
from generator.experiments.stats import Comparison, Interval
from generator.experiments.verdict import MetricResult, Status, status
from generator.layout import BuildLayout

SHOWN = ("running", "stopped", "concluded")
"""Experiments that have (or had) visitors: drafts never ran."""


def site_statuses(
    site: SiteConfig, layout: BuildLayout, today: dt.date | None = None
) -> list[Status]:
    experiments = [e for e in site.personalization.experiments if e.status in SHOWN]
    store = layout.events_of(site.environment)
    if store.exists():
        EventStore(store).close()  # an older store is migrated (read-only below)
    versions = history.read(layout.experiments(site.name))
    data = experiment_data(store, site.name, experiments, versions)
    return [status(data[e.key], today) for e in experiments]


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1%}" if signed else f"{value:.2%}"


def _interval(interval: Interval | None, scale: float = 0.0) -> str:
    """`(low, high)`: as percentages, or scaled numbers (100: percentage points)."""
    if interval is None:
        return ""
    if scale:
        return f"({interval.low * scale:+.2f}, {interval.high * scale:+.2f})"
    return f"({interval.low:+.1%}, {interval.high:+.1%})"


def _evidence(found: Comparison, adjusted: float | None) -> str:
    if found.chance_to_win is not None:
        return f"chance to beat control {found.chance_to_win:.1%}"
    return f"p = {adjusted if adjusted is not None else found.p_value:.3g}"


def _metric_lines(result: MetricResult, found: Status, title: str) -> list[str]:
    analysis = found.experiment.analysis
    level = f"{1 - analysis.alpha:.0%}"
    lines = [
        f"  {title}",
        f"    {'arm':<14}{'visitors':>9}{'value':>10}   lift, absolute ({level})"
        f"          lift, relative ({level})",
    ]
    for name, arm in found.data.arms.items():
        if result.metric == PAGES:
            value = f"{arm.pages / arm.visitors:.2f}" if arm.visitors else "-"
        elif result.metric == BOUNCE:
            value = _percent(arm.bounces / arm.visitors if arm.visitors else None)
        elif result.metric == NOT_FOUND:
            value = _percent(arm.not_found / arm.visitors if arm.visitors else None)
        else:
            value = _percent(
                arm.conversions.get(result.metric, 0) / arm.visitors if arm.visitors else None
            )
        line = f"    {name:<14}{arm.visitors:>9}{value:>10}"
        comparison = result.comparisons.get(name)
        if comparison is not None:
            unit = 1 if result.metric == PAGES else 100
            absolute = f"{comparison.absolute * unit:+.2f}" + ("" if unit == 1 else " pp")
            line += (
                f"   {absolute} {_interval(comparison.absolute_interval, unit):<22}"
                f"{_percent(comparison.relative, signed=True)} "
                f"{_interval(comparison.relative_interval):<20}"
                f"{_evidence(comparison, result.adjusted.get(name))}"
            )
        elif name in result.missing:
            line += f"   {result.missing[name]}"
        lines.append(line)
    return lines


def as_text(found: Status) -> str:
    experiment, data, analysis = found.experiment, found.data, found.experiment.analysis
    lines = [
        f"{experiment.id} ({experiment.status}; {analysis.engine}, "
        + (
            f"chance to win {analysis.chance_to_win:.0%}"
            if analysis.engine == "bayesian"
            else f"alpha {analysis.alpha:g}"
        )
        + f"; {data.visitors} visitors over {data.days:.1f} days)"
    ]
    ratio = found.sample_ratio
    split = " / ".join(str(count) for count in ratio.observed)
    expected = " / ".join(f"{count:.0f}" for count in ratio.expected)
    verdict = (
        "not tested yet (too few visitors)"
        if ratio.p_value is None
        else f"p = {ratio.p_value:.3g}" + (" MISMATCH" if ratio.mismatch else " ok")
    )
    lines.append(f"  sample ratio: {split} against {expected} expected: {verdict}")
    for goal in experiment.goals:
        window = "the visit" if goal.within_days is None else f"{goal.within_days} days"
        role = "primary goal" if goal.id == analysis.primary else "goal"
        what = f"reached {goal.page}" if goal.page else f"clicked {goal.click}"
        lines += _metric_lines(
            found.goals[goal.id], found, f"{role} {goal.id} ({what}, within {window}):"
        )
    for metric, title in (
        (BOUNCE, "bounce rate of the exposure visit:"),
        (PAGES, "pages per visit:"),
        (NOT_FOUND, "reached the 404 page in the exposure visit:"),
    ):
        lines += _metric_lines(found.metrics[metric], found, title)
    for guard in found.guardrails:
        lines.append(
            f"  guardrail {guard.metric} on {guard.arm} (margin {guard.margin:.0%}): "
            + ("WORSE" if guard.worse else "ok")
        )
    if data.stale_exposures:
        lines.append(
            f"  {data.stale_exposures} exposures before the bucket version changed: not counted"
        )
    if data.unknown_builds:
        lines.append(
            f"  {len(data.unknown_builds)} build versions not recorded by this build folder: "
            "judged by the current weights"
        )
    winner = f" {found.winner}" if found.winner else ""
    lines.append(f"  verdict: {found.verdict}{winner}: {found.reason}")
    return "\n".join(lines)


def _comparison_json(found: Comparison) -> dict[str, Any]:
    return {
        "absolute": found.absolute,
        "absolute_interval": [found.absolute_interval.low, found.absolute_interval.high],
        "relative": found.relative,
        "relative_interval": None
        if found.relative_interval is None
        else [found.relative_interval.low, found.relative_interval.high],
        "p_value": found.p_value,
        "chance_to_win": found.chance_to_win,
        "loss_if_chosen": found.loss_if_chosen,
        "loss_if_kept": found.loss_if_kept,
    }


def _metric_json(result: MetricResult) -> dict[str, Any]:
    return {
        arm: {**_comparison_json(found), "adjusted_p_value": result.adjusted.get(arm)}
        for arm, found in result.comparisons.items()
    } | {arm: {"missing": why} for arm, why in result.missing.items()}


def as_json(found: Status) -> dict[str, Any]:
    experiment, data, analysis = found.experiment, found.data, found.experiment.analysis
    return {
        "id": experiment.id,
        "key": experiment.key,
        "status": experiment.status,
        "engine": analysis.engine,
        "alpha": analysis.alpha,
        "primary": analysis.primary,
        "control": found.control,
        "visitors": data.visitors,
        "days": round(data.days, 3),
        "arms": {
            name: {
                "visitors": arm.visitors,
                "conversions": arm.conversions,
                "bounces": arm.bounces,
                "not_found": arm.not_found,
                "pages": arm.pages,
            }
            for name, arm in data.arms.items()
        },
        "sample_ratio": {
            "observed": list(found.sample_ratio.observed),
            "expected": list(found.sample_ratio.expected),
            "p_value": found.sample_ratio.p_value,
            "mismatch": found.sample_ratio.mismatch,
        },
        "goals": {goal: _metric_json(result) for goal, result in found.goals.items()},
        "metrics": {metric: _metric_json(result) for metric, result in found.metrics.items()},
        "guardrails": [
            {"metric": g.metric, "arm": g.arm, "margin": g.margin, "worse": g.worse}
            for g in found.guardrails
        ],
        "stale_exposures": data.stale_exposures,
        "unknown_builds": sorted(data.unknown_builds),
        "verdict": found.verdict,
        "winner": found.winner,
        "reason": found.reason,
    }
