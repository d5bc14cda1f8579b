"""The engines' promises, checked by seeded simulation (fast: counts are drawn, not visitors):

- 2,000 A/A experiments looked at every day for 28 days: the sequential engine's chance of
  ever declaring a difference stays within 5% (plus its Monte Carlo error), while the
  fixed-horizon test read daily is shown to exceed it;
- A/B experiments with a true lift, read once at the sample the calculator plans: the
  power is the calculator's promise, within a few points;
- sample ratio: a 48/52 split of 20,000 visitors is flagged; fair splits are flagged at the
  test's own rate.
"""

from __future__ import annotations

import math

import numpy as np

from generator.experiments import stats
from generator.experiments.stats import Summary

RUNS = 2000
DAYS = 28
DAILY = 200
"""Visitors per arm and day."""
BASELINE = 0.05


def daily_counts(rng: np.random.Generator, rate_b: float) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative conversions per day for both arms of every run: shape (RUNS, DAYS)."""
    a = rng.binomial(DAILY, BASELINE, size=(RUNS, DAYS)).cumsum(axis=1)
    b = rng.binomial(DAILY, rate_b, size=(RUNS, DAYS)).cumsum(axis=1)
    return a, b


def ever_significant(
    engine: stats.Engine, a: np.ndarray, b: np.ndarray, alpha: float = 0.05
) -> float:
    """Share of runs declared different at any of the daily looks."""
    rejected = 0
    for run in range(RUNS):
        for day in range(DAYS):
            visitors = DAILY * (day + 1)
            found = engine(
                Summary.conversions(visitors, int(a[run, day])),
                Summary.conversions(visitors, int(b[run, day])),
                alpha,
            )
            if found.p_value is not None and found.p_value < alpha:
                rejected += 1
                break
    return rejected / RUNS


def test_sequential_survives_daily_peeking_and_the_naive_test_does_not() -> None:
    a, b = daily_counts(np.random.default_rng(20261201), BASELINE)
    error = math.sqrt(0.05 * 0.95 / RUNS)
    sequential = ever_significant(stats.sequential, a, b)
    naive = ever_significant(stats.frequentist, a, b)
    assert sequential <= 0.05 + 2 * error, sequential
    assert naive > 0.05 + 6 * error, naive  # peeking at a fixed-horizon test inflates it


def test_power_at_the_planned_sample_is_the_calculators_promise() -> None:
    rng = np.random.default_rng(7)
    effect = 0.2
    planned = math.ceil(stats.visitors_needed(BASELINE, effect, 0.05, 0.8))
    a = rng.binomial(planned, BASELINE, size=RUNS)
    b = rng.binomial(planned, BASELINE * (1 + effect), size=RUNS)
    detected = sum(
        (
            stats.frequentist(
                Summary.conversions(planned, int(x)), Summary.conversions(planned, int(y))
            ).p_value
            or 1.0
        )
        < 0.05
        for x, y in zip(a, b, strict=True)
    )
    assert abs(detected / RUNS - 0.8) < 0.04, (detected / RUNS, planned)


def test_sample_ratio_mismatch_is_flagged_and_fair_splits_are_not() -> None:
    assert stats.sample_ratio([9600, 10400], [0.5, 0.5]).mismatch
    rng = np.random.default_rng(11)
    splits = rng.binomial(20000, 0.5, size=RUNS)
    flagged = sum(stats.sample_ratio([int(s), 20000 - int(s)], [0.5, 0.5]).mismatch for s in splits)
    # The alarm is at p < 0.001: about 2 of 2,000 fair splits; never more than a handful.
    assert flagged <= 8, flagged
