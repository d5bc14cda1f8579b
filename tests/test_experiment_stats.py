"""The experiment statistics against scipy and statsmodels on fixed inputs (1e-6), against
closed forms where the engines integrate numerically, and the edge cases that must not
divide by zero."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate, special
from scipy import stats as distributions
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from generator.experiments import stats
from generator.experiments.stats import Summary

CONVERSIONS = [(1000, 50, 1000, 65), (4321, 123, 4400, 101), (250, 30, 260, 31), (80, 0, 90, 4)]
"""(control visitors, conversions, treatment visitors, conversions)."""


@pytest.mark.parametrize(("nc", "xc", "nt", "xt"), CONVERSIONS)
def test_two_proportions_agree_with_statsmodels(nc: int, xc: int, nt: int, xt: int) -> None:
    found = stats.frequentist(Summary.conversions(nc, xc), Summary.conversions(nt, xt), 0.05)
    _, p_value = proportions_ztest([xt, xc], [nt, nc])
    low, high = confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff")
    assert found.p_value == pytest.approx(p_value, abs=1e-6)
    assert found.absolute == pytest.approx(xt / nt - xc / nc, abs=1e-12)
    assert found.absolute_interval.low == pytest.approx(low, abs=1e-6)
    assert found.absolute_interval.high == pytest.approx(high, abs=1e-6)


def test_welch_agrees_with_scipy_on_raw_values() -> None:
    rng = np.random.default_rng(4)
    control = rng.poisson(2.1, 700).astype(float)
    treatment = rng.poisson(2.3, 650).astype(float)
    found = stats.frequentist(summary(control), summary(treatment), 0.1)
    expected = distributions.ttest_ind(treatment, control, equal_var=False)
    interval = expected.confidence_interval(confidence_level=0.9)
    assert found.p_value == pytest.approx(expected.pvalue, abs=1e-6)
    assert found.absolute_interval.low == pytest.approx(interval.low, abs=1e-6)
    assert found.absolute_interval.high == pytest.approx(interval.high, abs=1e-6)


def summary(values: np.ndarray) -> Summary:
    return Summary(len(values), float(values.sum()), float((values**2).sum()), False)


def test_relative_interval_is_the_delta_method() -> None:
    """The relative lift's variance against a numerical gradient of t/c - 1 (the delta
    method done independently of the closed form)."""
    control, treatment = Summary.conversions(5000, 400), Summary.conversions(5000, 460)
    found = stats.frequentist(control, treatment, 0.05)
    means = np.array([control.mean, treatment.mean])
    covariance = np.diag([control.variance / control.n, treatment.variance / treatment.n])
    step = 1e-7
    gradient = np.array(
        [
            (ratio(means + step * unit) - ratio(means - step * unit)) / (2 * step)
            for unit in np.eye(2)
        ]
    )
    error = math.sqrt(gradient @ covariance @ gradient)
    z = distributions.norm.ppf(0.975)
    assert found.relative == pytest.approx(460 / 400 - 1)
    assert found.relative_interval is not None
    assert found.relative_interval.low == pytest.approx(found.relative - z * error, abs=1e-6)
    assert found.relative_interval.high == pytest.approx(found.relative + z * error, abs=1e-6)


def ratio(means: np.ndarray) -> float:
    return float(means[1] / means[0] - 1)


def chance_closed_form(a_c: int, b_c: int, a_t: int, b_t: int) -> float:
    """Evan Miller's exact P(T > C) for Beta posteriors with integer parameters."""
    total = 0.0
    for i in range(a_t):
        total += math.exp(
            special.betaln(a_c + i, b_c + b_t)
            - math.log(b_t + i)
            - special.betaln(1 + i, b_t)
            - special.betaln(a_c, b_c)
        )
    return total


@pytest.mark.parametrize(("nc", "xc", "nt", "xt"), CONVERSIONS)
def test_chance_to_win_matches_the_closed_form(nc: int, xc: int, nt: int, xt: int) -> None:
    found = stats.bayesian(Summary.conversions(nc, xc), Summary.conversions(nt, xt))
    expected = chance_closed_form(1 + xc, 1 + nc - xc, 1 + xt, 1 + nt - xt)
    assert found.chance_to_win == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("nc", "xc", "nt", "xt"), [(250, 30, 260, 31), (80, 0, 90, 4)])
def test_expected_loss_matches_a_double_integral(nc: int, xc: int, nt: int, xt: int) -> None:
    control = distributions.beta(1 + xc, 1 + nc - xc)
    treatment = distributions.beta(1 + xt, 1 + nt - xt)
    top = max(control.ppf(1 - 1e-12), treatment.ppf(1 - 1e-12))

    def shortfall(better: Any, worse: Any) -> float:
        # E[max(B - W, 0)]: over b, then w below b (no kink inside the region).
        value, _ = integrate.dblquad(
            lambda w, b: (b - w) * better.pdf(b) * worse.pdf(w),
            0,
            top,
            0,
            lambda b: b,
            epsabs=1e-10,
        )
        return float(value)

    found = stats.bayesian(Summary.conversions(nc, xc), Summary.conversions(nt, xt))
    assert found.loss_if_chosen == pytest.approx(shortfall(control, treatment), abs=1e-6)
    assert found.loss_if_kept == pytest.approx(shortfall(treatment, control), abs=1e-6)


def test_credible_interval_holds_the_stated_probability() -> None:
    found = stats.bayesian(Summary.conversions(1000, 50), Summary.conversions(1000, 65), 0.1)
    control, treatment = distributions.beta(51, 951), distributions.beta(66, 936)

    def below(value: float, relative: bool) -> float:
        def shifted(c: float) -> float:
            return (1 + value) * c if relative else c + value

        result, _ = integrate.quad(
            lambda c: control.pdf(c) * treatment.cdf(shifted(c)), 0, 0.2, epsabs=1e-12
        )
        return float(result)

    assert below(found.absolute_interval.low, False) == pytest.approx(0.05, abs=1e-6)
    assert below(found.absolute_interval.high, False) == pytest.approx(0.95, abs=1e-6)
    assert found.relative_interval is not None
    assert below(found.relative_interval.low, True) == pytest.approx(0.05, abs=1e-6)
    assert below(found.relative_interval.high, True) == pytest.approx(0.95, abs=1e-6)


def test_bayesian_means_are_normal_posteriors() -> None:
    control = Summary(400, 800.0, 2400.0, False)
    treatment = Summary(420, 882.0, 2600.0, False)
    found = stats.bayesian(control, treatment)
    error = math.sqrt(control.variance / 400 + treatment.variance / 420)
    difference = treatment.mean - control.mean
    assert found.chance_to_win == pytest.approx(
        distributions.norm.cdf(difference / error), abs=1e-9
    )
    loss, _ = integrate.quad(
        lambda d: max(-d, 0.0) * distributions.norm.pdf(d, difference, error),
        difference - 12 * error,
        difference + 12 * error,
    )
    assert found.loss_if_chosen == pytest.approx(loss, abs=1e-9)


def test_sequential_interval_contains_zero_exactly_when_p_is_above_alpha() -> None:
    """The always-valid p-value is the smallest alpha whose interval excludes 0."""
    for converted in range(40, 90, 3):
        found = stats.sequential(
            Summary.conversions(2000, 50), Summary.conversions(2000, converted), 0.05
        )
        assert found.p_value is not None
        assert found.absolute_interval.contains(0.0) == (found.p_value > 0.05)
        # Solving back: at alpha = p the interval ends at 0.
        if 1e-9 < found.p_value < 0.5:
            rho = stats._sequential_rho(0.05, stats.SEQUENTIAL_TUNING)
            error = math.sqrt(
                (50 / 2000) * (1 - 50 / 2000) / 2000
                + (converted / 2000) * (1 - converted / 2000) / 2000
            )
            width = stats._sequential_halfwidth(error, 4000, found.p_value, rho)
            assert width == pytest.approx(abs(found.absolute), rel=1e-9)


def test_sequential_is_wider_than_fixed_horizon() -> None:
    control, treatment = Summary.conversions(3000, 90), Summary.conversions(3000, 120)
    fixed = stats.frequentist(control, treatment)
    always = stats.sequential(control, treatment)
    assert always.absolute_interval.low < fixed.absolute_interval.low
    assert always.p_value is not None and fixed.p_value is not None
    assert always.p_value > fixed.p_value


def test_holm_agrees_with_statsmodels() -> None:
    p_values = [0.01, 0.04, 0.03, 0.005, 0.2]
    expected = multipletests(p_values, method="holm")[1]
    assert stats.holm(p_values) == pytest.approx(list(expected), abs=1e-12)


def test_sample_ratio_mismatch() -> None:
    flagged = stats.sample_ratio([9600, 10400], [0.5, 0.5])
    assert flagged.mismatch
    expected = distributions.chisquare([9600, 10400], [10000, 10000]).pvalue
    assert flagged.p_value == pytest.approx(expected, abs=1e-12)
    assert not stats.sample_ratio([10040, 9960], [0.5, 0.5]).mismatch
    # Weights other than even, and too early to test.
    assert not stats.sample_ratio([2010, 7990], [0.2, 0.8]).mismatch
    assert stats.sample_ratio([3, 9], [0.5, 0.5]).p_value is None
    # Nobody exposed, or weights that say nothing: no test, no division by zero.
    assert stats.sample_ratio([0, 0], [0.5, 0.5]).p_value is None
    assert stats.sample_ratio([5, 7], [0.0, 0.0]).p_value is None


@pytest.mark.parametrize(("baseline", "effect"), [(0.04, 0.1), (0.2, -0.05), (0.5, 0.02)])
def test_power_agrees_with_statsmodels(baseline: float, effect: float) -> None:
    h = proportion_effectsize(baseline * (1 + effect), baseline)
    analysis = NormalIndPower()
    assert stats.power(baseline, effect, 5000, 0.05) == pytest.approx(
        analysis.power(h, nobs1=5000, alpha=0.05, ratio=1), abs=1e-6
    )
    needed = analysis.solve_power(h, nobs1=None, alpha=0.05, power=0.8, ratio=1)
    assert stats.visitors_needed(baseline, effect, 0.05, 0.8) == pytest.approx(needed, rel=1e-6)


def test_no_data_is_said_not_divided_by() -> None:
    empty = Summary.conversions(0, 0)
    for engine in stats.ENGINES.values():
        with pytest.raises(stats.NoData):
            engine(empty, Summary.conversions(10, 1), 0.05)
    # No conversions anywhere: defined results, no NaN.
    for engine in stats.ENGINES.values():
        found = engine(Summary.conversions(100, 0), Summary.conversions(100, 0), 0.05)
        assert found.relative is None and found.relative_interval is None
        assert not math.isnan(found.absolute_interval.low)
        if found.p_value is not None:
            assert found.p_value == 1.0
    with pytest.raises(ValueError, match="not a rate"):
        stats.visitors_needed(0.6, 1.0)
