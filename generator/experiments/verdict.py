"""Where an experiment stands: its comparisons by the chosen engine, the checks that protect
a decision, and the verdict its pre-registered rule gives.

The rule (`config.personalization.Analysis`), in order:

1. no exposures: no data yet;
2. a sample-ratio mismatch blocks everything (the data cannot be trusted);
3. before the minimum visitors and primary-goal conversions per arm and the minimum days:
   collecting;
4. the primary goal decides, treatment arms against control:
   - sequential: an arm wins when its always-valid p-value (Holm-adjusted over the arms) is
     below alpha with a positive lift; control wins when every arm is significantly worse;
   - frequentist: the same, but only once each arm has the sample the plan asks for (the
     minimum detectable effect at the control's rate); before, collecting;
   - bayesian: an arm wins when its chance to beat control reaches the threshold with an
     expected loss within the maximum; control wins when every arm's expected loss of
     keeping control is within it and no arm is likely better;
5. a winner whose guardrail is significantly worse than its margin is blocked;
6. past the deadline with no winner: keep control (or keep running, if so declared).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from generator.config.personalization import Analysis, Experiment
from generator.experiments import stats
from generator.experiments.exposure import BOUNCE, NOT_FOUND, PAGES, ArmData, ExperimentData
from generator.experiments.stats import Comparison, SampleRatio, Summary


@dataclass(frozen=True)
class MetricResult:
    """One metric (a goal, bounce, pages per visit): each treatment arm against control."""

    metric: str
    comparisons: dict[str, Comparison]
    """Treatment arm -> comparison; an arm without enough data is missing."""
    adjusted: dict[str, float] = field(default_factory=dict)
    """Holm-adjusted p-values over the arms (frequentist and sequential)."""
    missing: dict[str, str] = field(default_factory=dict)
    """Treatment arm -> why there is no comparison."""


@dataclass(frozen=True)
class GuardrailResult:
    metric: str
    margin: float
    arm: str
    worse: bool
    """Significantly worse than the margin allows."""
    comparison: Comparison | None


@dataclass(frozen=True)
class Status:
    experiment: Experiment
    data: ExperimentData
    control: str
    sample_ratio: SampleRatio
    goals: dict[str, MetricResult]
    metrics: dict[str, MetricResult]
    """Bounce and pages per visit."""
    guardrails: tuple[GuardrailResult, ...]
    verdict: str
    """no-data, blocked, collecting, winner, control, keep-running."""
    winner: str | None
    reason: str
    planned: float | None = None
    """Frequentist: visitors per arm the plan needs."""


def control_arm(experiment: Experiment) -> str:
    """The arm named `control`, else the first."""
    names = [arm.name for arm in experiment.arms]
    return "control" if "control" in names else names[0]


def _summary(arm: ArmData, metric: str) -> Summary:
    if metric == BOUNCE:
        return Summary.conversions(arm.visitors, arm.bounces)
    if metric == NOT_FOUND:
        return Summary.conversions(arm.visitors, arm.not_found)
    if metric == PAGES:
        return Summary(arm.visitors, float(arm.pages), float(arm.pages_squared), False)
    return Summary.conversions(arm.visitors, arm.conversions.get(metric, 0))


def compare(data: ExperimentData, metric: str, control: str, analysis: Analysis) -> MetricResult:
    engine = stats.ENGINES[analysis.engine]
    comparisons, missing = {}, {}
    for name, arm in data.arms.items():
        if name == control:
            continue
        try:
            comparisons[name] = engine(
                _summary(data.arms[control], metric), _summary(arm, metric), analysis.alpha
            )
        except stats.NoData as error:
            missing[name] = str(error)
    names = [name for name, found in comparisons.items() if found.p_value is not None]
    adjusted = dict(
        zip(
            names,
            stats.holm([comparisons[name].p_value or 1.0 for name in names]),
            strict=True,
        )
    )
    return MetricResult(metric, comparisons, adjusted, missing)


def _guardrails(
    data: ExperimentData, control: str, analysis: Analysis
) -> tuple[GuardrailResult, ...]:
    found = []
    for guardrail in analysis.guardrails:
        result = compare(data, guardrail.metric, control, analysis)
        lower_is_better = guardrail.metric in (BOUNCE, NOT_FOUND)
        for arm in data.arms:
            if arm == control:
                continue
            comparison = result.comparisons.get(arm)
            interval = comparison.relative_interval if comparison else None
            worse = interval is not None and (
                interval.low > guardrail.margin
                if lower_is_better
                else interval.high < -guardrail.margin
            )
            found.append(
                GuardrailResult(guardrail.metric, guardrail.margin, arm, worse, comparison)
            )
    return tuple(found)


def status(data: ExperimentData, today: dt.date | None = None) -> Status:
    """Where the experiment stands today (UTC)."""
    experiment, analysis = data.experiment, data.experiment.analysis
    control = control_arm(experiment)
    names = list(data.arms)
    sample_ratio = stats.sample_ratio(
        [data.arms[name].visitors for name in names],
        [data.expected.get(name, 0.0) for name in names]
        if data.visitors
        else [arm.weight for arm in experiment.arms],
    )
    goals = {goal.id: compare(data, goal.id, control, analysis) for goal in experiment.goals}
    metrics = {
        metric: compare(data, metric, control, analysis) for metric in (BOUNCE, PAGES, NOT_FOUND)
    }
    guardrails = _guardrails(data, control, analysis)
    partial = Status(
        experiment, data, control, sample_ratio, goals, metrics, guardrails, "", None, ""
    )
    return _decide(partial, today or dt.datetime.now(dt.UTC).date())


def _with(found: Status, verdict: str, winner: str | None, reason: str, **more: float) -> Status:
    return Status(
        found.experiment,
        found.data,
        found.control,
        found.sample_ratio,
        found.goals,
        found.metrics,
        found.guardrails,
        verdict,
        winner,
        reason,
        **more,
    )


def _decide(found: Status, today: dt.date) -> Status:
    data, analysis = found.data, found.experiment.analysis
    if data.visitors == 0:
        return _with(found, "no-data", None, "no data yet: no visitor has been exposed")
    if found.sample_ratio.mismatch:
        return _with(
            found,
            "blocked",
            None,
            f"sample ratio mismatch (p = {found.sample_ratio.p_value:.2g} < "
            f"{stats.SRM_ALARM}): the split does not match the weights; fix the cause before "
            "deciding",
        )
    waiting = _still_collecting(found)
    if waiting:
        return _deadline(found, today, "collecting", waiting)
    primary = analysis.primary or ""
    result = found.goals[primary]
    if analysis.engine == "frequentist":
        planned = _planned(found)
        if planned is not None and min(arm.visitors for arm in data.arms.values()) < planned:
            return _deadline(
                found,
                today,
                "collecting",
                f"a fixed-horizon test is read once, at {planned:,.0f} visitors per arm "
                f"(the plan for a {analysis.mde:.0%} lift)",
                planned=planned,
            )
    winner, control_wins, reason = _primary(result, found.control, analysis)
    if winner is not None:
        blocked = [g for g in found.guardrails if g.arm == winner and g.worse]
        if blocked:
            guard = blocked[0]
            return _with(
                found,
                "blocked",
                None,
                f"{winner} would win ({reason}), but guardrail {guard.metric} is worse by more "
                f"than {guard.margin:.0%}",
            )
        return _with(found, "winner", winner, reason)
    if control_wins:
        return _with(found, "control", found.control, reason)
    return _deadline(found, today, "keep-running", reason)


def _still_collecting(found: Status) -> str:
    data, analysis = found.data, found.experiment.analysis
    primary = analysis.primary or ""
    short = [
        name
        for name, arm in data.arms.items()
        if arm.visitors < analysis.min_visitors
        or arm.conversions.get(primary, 0) < analysis.min_conversions
    ]
    if short:
        return (
            f"each arm needs {analysis.min_visitors} visitors and {analysis.min_conversions} "
            f"conversions of {primary}; not yet: {', '.join(short)}"
        )
    if data.days < analysis.min_days:
        return f"running {data.days:.1f} of at least {analysis.min_days:g} days"
    return ""


def _planned(found: Status) -> float | None:
    analysis = found.experiment.analysis
    control = found.data.arms[found.control]
    baseline = control.conversions.get(analysis.primary or "", 0) / max(control.visitors, 1)
    try:
        return stats.visitors_needed(baseline, analysis.mde, analysis.alpha)
    except ValueError:
        return None


def _primary(
    result: MetricResult, control: str, analysis: Analysis
) -> tuple[str | None, bool, str]:
    """(winning arm, whether control wins, why) on the primary goal."""
    if not result.comparisons:
        return None, False, "no comparison possible: " + "; ".join(result.missing.values())
    if analysis.engine == "bayesian":
        return _bayesian(result, control, analysis)
    better = {
        arm: found
        for arm, found in result.comparisons.items()
        if result.adjusted.get(arm, 1.0) < analysis.alpha and found.absolute > 0
    }
    if better:
        arm = max(better, key=lambda name: better[name].absolute)
        return (
            arm,
            False,
            (
                f"{result.metric} {_lift(better[arm])}, p = {result.adjusted[arm]:.2g} < "
                f"{analysis.alpha:g}" + (" after Holm" if len(result.comparisons) > 1 else "")
            ),
        )
    worse = [
        arm
        for arm, found in result.comparisons.items()
        if result.adjusted.get(arm, 1.0) < analysis.alpha and found.absolute < 0
    ]
    if len(worse) == len(result.comparisons):
        return None, True, f"every arm is worse than {control} on {result.metric}"
    best = max(result.comparisons.values(), key=lambda found: found.absolute)
    p_value = min(result.adjusted.values(), default=1.0)
    return None, False, f"no significant difference yet ({_lift(best)}, p = {p_value:.2g})"


def _bayesian(
    result: MetricResult, control: str, analysis: Analysis
) -> tuple[str | None, bool, str]:
    likely = {
        arm: found
        for arm, found in result.comparisons.items()
        if (found.chance_to_win or 0.0) >= analysis.chance_to_win
        and (found.loss_if_chosen or 0.0) <= analysis.max_loss
    }
    if likely:
        arm = max(likely, key=lambda name: likely[name].chance_to_win or 0.0)
        found = likely[arm]
        return (
            arm,
            False,
            (
                f"{result.metric} {_lift(found)}, chance to beat {control} "
                f"{found.chance_to_win:.1%}, expected loss {found.loss_if_chosen:.2g}"
            ),
        )
    if all(
        (found.chance_to_win or 0.0) <= 1 - analysis.chance_to_win
        and (found.loss_if_kept or 0.0) <= analysis.max_loss
        for found in result.comparisons.values()
    ):
        return None, True, f"{control} is better than every arm on {result.metric}"
    best = max(result.comparisons.values(), key=lambda found: found.chance_to_win or 0.0)
    return (
        None,
        False,
        (f"not yet decided ({_lift(best)}, chance to beat {control} {best.chance_to_win:.1%})"),
    )


def _lift(found: Comparison) -> str:
    if found.relative is None:
        return f"{found.absolute:+.2%} absolute"
    return f"{found.relative:+.1%}"


def _deadline(found: Status, today: dt.date, verdict: str, reason: str, **more: float) -> Status:
    analysis = found.experiment.analysis
    if analysis.deadline is not None and today > analysis.deadline:
        if analysis.on_deadline == "keep-control":
            return _with(
                found,
                "control",
                found.control,
                f"no result by the deadline {analysis.deadline.isoformat()} ({reason}): "
                "keep control",
                **more,
            )
    return _with(found, verdict, None, reason, **more)
