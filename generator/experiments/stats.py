"""The statistics of an experiment: one arm against control on one metric, by three engines.

A metric is summarised per arm as `Summary` (visitors, the sum of their values and of the
squares): a conversion is a 0/1 value per visitor, pages per visit a count. Every engine
reports the absolute lift (treatment mean - control mean) and the relative lift
(treatment / control - 1) with an interval at level 1 - alpha.

- `frequentist`: the two-proportion z-test (pooled under the null, as statsmodels'
  `proportions_ztest`) with Wald intervals for conversions; Welch's t-test for means; the
  relative lift's interval by the delta method. Valid when looked at once, at a sample size
  fixed in advance.
- `sequential`: always-valid intervals and p-values (the asymptotic confidence sequences of
  Waudby-Smith et al. 2023, eq. 9 and 161, with a tuning sample size as GrowthBook's): the
  chance of ever declaring a false difference stays below alpha however often it is checked,
  so it may decide on every build.
- `bayesian`: Beta-Binomial posteriors (uniform priors) for conversions, Normal posteriors
  for means; the chance to beat control and the expected loss of each choice, by numerical
  integration (never sampling), and credible intervals by inverting the posterior
  distribution of the lift.

Plus Holm-Bonferroni over several comparisons, the sample-ratio-mismatch test, and the sample
size a planned effect needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import overload

from scipy import integrate, optimize, special
from scipy import stats as distributions

SEQUENTIAL_TUNING = 5000
"""The sample size at which sequential intervals are tightest (GrowthBook's default)."""


class NoData(ValueError):
    """Not enough data for the comparison (an arm without visitors, no variance at all)."""


@dataclass(frozen=True)
class Summary:
    """One arm's values of one metric: `n` visitors, the sum of their values and of the
    squares of their values (equal to the sum for a 0/1 conversion)."""

    n: int
    total: float
    squares: float
    binary: bool

    @classmethod
    def conversions(cls, visitors: int, converted: int) -> Summary:
        return cls(visitors, float(converted), float(converted), True)

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        """Per visitor: p(1 - p) for a conversion, the sample variance of a mean."""
        if self.binary:
            return self.mean * (1.0 - self.mean)
        if self.n < 2:
            return 0.0
        return max(0.0, (self.squares - self.n * self.mean**2) / (self.n - 1))


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Comparison:
    """Treatment against control on one metric, by one engine."""

    engine: str
    alpha: float
    control: Summary
    treatment: Summary
    absolute: float
    absolute_interval: Interval
    relative: float | None
    """None when the control's mean is 0 (no relative lift exists)."""
    relative_interval: Interval | None
    p_value: float | None = None
    """Frequentist and sequential engines."""
    chance_to_win: float | None = None
    """Bayesian: the posterior probability that treatment's mean is higher."""
    loss_if_chosen: float | None = None
    """Bayesian: expected loss (in the metric's units) of choosing treatment."""
    loss_if_kept: float | None = None
    """Bayesian: expected loss of keeping control."""


def _check(control: Summary, treatment: Summary) -> None:
    if control.n < 1 or treatment.n < 1:
        raise NoData("an arm has no visitors")
    if not control.binary and (control.n < 2 or treatment.n < 2):
        raise NoData("a mean needs two visitors in each arm")


def _standard_error(control: Summary, treatment: Summary) -> float:
    return math.sqrt(treatment.variance / treatment.n + control.variance / control.n)


def _relative_standard_error(control: Summary, treatment: Summary) -> float | None:
    """Delta method for treatment.mean / control.mean - 1 (independent arms)."""
    if control.mean == 0:
        return None
    c, t = control.mean, treatment.mean
    variance = treatment.variance / treatment.n / c**2 + t**2 * control.variance / control.n / c**4
    return math.sqrt(variance)


@overload
def _around(center: float, error: float, quantile: float) -> Interval: ...


@overload
def _around(center: float | None, error: float | None, quantile: float) -> Interval | None: ...


def _around(center: float | None, error: float | None, quantile: float) -> Interval | None:
    """center +- quantile x error (None when either is unknown)."""
    if center is None or error is None:
        return None
    return Interval(center - quantile * error, center + quantile * error)


def _welch_dof(control: Summary, treatment: Summary) -> float:
    a, b = treatment.variance / treatment.n, control.variance / control.n
    if a + b == 0:
        return math.inf
    return (a + b) ** 2 / (a**2 / (treatment.n - 1) + b**2 / (control.n - 1))


def _relative(control: Summary, treatment: Summary) -> float | None:
    return None if control.mean == 0 else treatment.mean / control.mean - 1.0


def frequentist(control: Summary, treatment: Summary, alpha: float = 0.05) -> Comparison:
    _check(control, treatment)
    difference = treatment.mean - control.mean
    error = _standard_error(control, treatment)
    relative, relative_error = (
        _relative(control, treatment),
        _relative_standard_error(control, treatment),
    )
    if control.binary:
        pooled = (control.total + treatment.total) / (control.n + treatment.n)
        null_error = math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n))
        p_value = (
            1.0
            if null_error == 0
            else float(2 * distributions.norm.sf(abs(difference) / null_error))
        )
        quantile = float(distributions.norm.ppf(1 - alpha / 2))
    else:
        dof = _welch_dof(control, treatment)
        if error == 0:
            raise NoData("no variance in either arm")
        p_value = float(2 * distributions.t.sf(abs(difference) / error, dof))
        quantile = float(distributions.t.ppf(1 - alpha / 2, dof))
    return Comparison(
        "frequentist",
        alpha,
        control,
        treatment,
        difference,
        _around(difference, error, quantile),
        relative,
        _around(relative, relative_error, quantile),
        p_value=p_value,
    )


def _sequential_rho(alpha: float, tuning: float) -> float:
    """Waudby-Smith et al. 2023, eq. 161: the mixture's spread, chosen so the sequence is
    tightest at `tuning` visitors."""
    log_alpha = -2 * math.log(alpha)
    return math.sqrt((log_alpha + math.log(log_alpha + 1)) / tuning)


def _sequential_halfwidth(error: float, n: int, alpha: float, rho: float) -> float:
    """Eq. 9: the asymptotic confidence sequence's half width for an estimate with standard
    error `error` from `n` visitors in all."""
    variance = error**2 * n  # per visitor
    spread = n * rho**2 + 1
    return math.sqrt(variance * 2 * spread / (n * rho) ** 2 * math.log(math.sqrt(spread) / alpha))


def _sequential_p_value(estimate: float, error: float, n: int, rho: float) -> float:
    """The smallest alpha whose sequence excludes 0 (eq. 9 solved for alpha, rho fixed)."""
    if error == 0:
        return 1.0 if estimate == 0 else 0.0
    spread = n * rho**2 + 1
    exponent = -(estimate**2) * n * rho**2 / (2 * error**2 * spread)
    return min(1.0, math.sqrt(spread) * math.exp(exponent))


def sequential(
    control: Summary, treatment: Summary, alpha: float = 0.05, tuning: float = SEQUENTIAL_TUNING
) -> Comparison:
    _check(control, treatment)
    n = control.n + treatment.n
    rho = _sequential_rho(alpha, tuning)
    difference = treatment.mean - control.mean
    error = _standard_error(control, treatment)
    width = _sequential_halfwidth(error, n, alpha, rho)
    relative, relative_error = (
        _relative(control, treatment),
        _relative_standard_error(control, treatment),
    )
    relative_interval = None
    if relative is not None and relative_error is not None:
        relative_width = _sequential_halfwidth(relative_error, n, alpha, rho)
        relative_interval = Interval(relative - relative_width, relative + relative_width)
    return Comparison(
        "sequential",
        alpha,
        control,
        treatment,
        difference,
        Interval(difference - width, difference + width),
        relative,
        relative_interval,
        p_value=_sequential_p_value(difference, error, n, rho),
    )


def bayesian(control: Summary, treatment: Summary, alpha: float = 0.05) -> Comparison:
    _check(control, treatment)
    if control.binary:
        return _beta_binomial(control, treatment, alpha)
    return _normal_means(control, treatment, alpha)


@dataclass(frozen=True)
class _Beta:
    """The posterior of a conversion rate under a uniform prior (scipy's special functions
    directly: the integrals call them thousands of times)."""

    a: float
    b: float

    @classmethod
    def of(cls, summary: Summary) -> _Beta:
        return cls(1 + summary.total, 1 + summary.n - summary.total)

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def pdf(self, x: float) -> float:
        if x <= 0 or x >= 1:
            return 0.0
        log = (self.a - 1) * math.log(x) + (self.b - 1) * math.log1p(-x)
        return math.exp(log - float(special.betaln(self.a, self.b)))

    def cdf(self, x: float) -> float:
        return float(special.betainc(self.a, self.b, min(max(x, 0.0), 1.0)))

    def sf(self, x: float) -> float:
        return float(special.betaincc(self.a, self.b, min(max(x, 0.0), 1.0)))

    def bounds(self) -> tuple[float, float]:
        """Where practically all of the density is (the integrals' range): 40 standard
        deviations, as a Beta(1, b) tail falls only like exp(-k) at k deviations."""
        total = self.a + self.b
        spread = math.sqrt(self.a * self.b / (total**2 * (total + 1)))
        return max(0.0, self.mean - 40 * spread), min(1.0, self.mean + 40 * spread)


def _integrate(function: Callable[[float], float], low: float, high: float) -> float:
    value, _ = integrate.quad(function, low, high, limit=200, epsabs=1e-13, epsrel=1e-11)
    return float(value)


def _chance_to_win(control: _Beta, treatment: _Beta) -> float:
    """P(T > C) = integral of f_T(x) F_C(x)."""
    low, high = treatment.bounds()
    return _integrate(lambda x: treatment.pdf(x) * control.cdf(x), low, high)


def _expected_shortfall(better: _Beta, worse: _Beta) -> float:
    """E[max(B - W, 0)]: what is lost by choosing `worse` when `better` is higher, as one
    integral over W: E[max(B - w, 0)] = mean_B P(B' > w) - w P(B > w), B' ~ Beta(a+1, b)."""
    shifted = _Beta(better.a + 1, better.b)
    low, high = worse.bounds()
    return _integrate(
        lambda w: worse.pdf(w) * (better.mean * shifted.sf(w) - w * better.sf(w)), low, high
    )


def _difference_cdf(control: _Beta, treatment: _Beta, value: float, relative: bool) -> float:
    """P(T - C <= value), or P(T / C - 1 <= value), by integrating over C."""
    low, high = control.bounds()
    if relative:
        return _integrate(lambda c: control.pdf(c) * treatment.cdf((1 + value) * c), low, high)
    return _integrate(lambda c: control.pdf(c) * treatment.cdf(c + value), low, high)


def _quantile(control: _Beta, treatment: _Beta, level: float, relative: bool) -> float:
    low, high = (-1.0, 1e6) if relative else (-1.0, 1.0)
    return float(
        optimize.brentq(
            lambda v: _difference_cdf(control, treatment, v, relative) - level,
            low,
            high,
            xtol=1e-12,
        )
    )


def _beta_binomial(control: Summary, treatment: Summary, alpha: float) -> Comparison:
    c, t = _Beta.of(control), _Beta.of(treatment)
    difference = treatment.mean - control.mean
    relative = _relative(control, treatment)
    return Comparison(
        "bayesian",
        alpha,
        control,
        treatment,
        difference,
        Interval(_quantile(c, t, alpha / 2, False), _quantile(c, t, 1 - alpha / 2, False)),
        relative,
        None
        if relative is None
        else Interval(_quantile(c, t, alpha / 2, True), _quantile(c, t, 1 - alpha / 2, True)),
        chance_to_win=_chance_to_win(c, t),
        loss_if_chosen=_expected_shortfall(c, t),
        loss_if_kept=_expected_shortfall(t, c),
    )


def _normal_loss(mean: float, error: float) -> float:
    """E[max(-D, 0)] for D ~ Normal(mean, error^2)."""
    if error == 0:
        return max(-mean, 0.0)
    z = mean / error
    return float(error * distributions.norm.pdf(z) - mean * distributions.norm.sf(z))


def _normal_means(control: Summary, treatment: Summary, alpha: float) -> Comparison:
    """Flat priors: each mean's posterior is Normal(mean, variance / n)."""
    difference = treatment.mean - control.mean
    error = _standard_error(control, treatment)
    if error == 0:
        raise NoData("no variance in either arm")
    quantile = float(distributions.norm.ppf(1 - alpha / 2))
    relative, relative_error = (
        _relative(control, treatment),
        _relative_standard_error(control, treatment),
    )
    return Comparison(
        "bayesian",
        alpha,
        control,
        treatment,
        difference,
        _around(difference, error, quantile),
        relative,
        _around(relative, relative_error, quantile),
        chance_to_win=float(distributions.norm.cdf(difference / error)),
        loss_if_chosen=_normal_loss(difference, error),
        loss_if_kept=_normal_loss(-difference, error),
    )


Engine = Callable[[Summary, Summary, float], Comparison]
ENGINES: dict[str, Engine] = {
    "frequentist": frequentist,
    "sequential": sequential,
    "bayesian": bayesian,
}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class SampleRatio:
    """Observed visitors per arm against the configured weights."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    p_value: float | None
    """None while some arm expects fewer than `SRM_MINIMUM` visitors (too early to test)."""

    @property
    def mismatch(self) -> bool:
        return self.p_value is not None and self.p_value < SRM_ALARM


SRM_ALARM = 0.001
SRM_MINIMUM = 8


def sample_ratio(observed: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Pearson's chi-squared test of the split against the weights (scipy's `chisquare`)."""
    total = sum(observed)
    weight_sum = sum(weights)
    if total == 0 or weight_sum <= 0:
        return SampleRatio(tuple(observed), tuple(0.0 for _ in weights), None)
    expected = tuple(total * weight / weight_sum for weight in weights)
    if len(observed) < 2 or min(expected) < SRM_MINIMUM:
        return SampleRatio(tuple(observed), expected, None)
    result = distributions.chisquare(list(observed), list(expected))
    return SampleRatio(tuple(observed), expected, float(result.pvalue))


def power(
    baseline: float, relative_effect: float, visitors_per_arm: float, alpha: float = 0.05
) -> float:
    """The chance a two-sided test at `alpha` finds a relative lift of `relative_effect` on a
    conversion rate of `baseline` with this many visitors per arm (Cohen's h, normal
    approximation, both tails; as statsmodels' `NormalIndPower`)."""
    effect = _cohens_h(baseline, relative_effect)
    critical = distributions.norm.ppf(1 - alpha / 2)
    shift = abs(effect) * math.sqrt(visitors_per_arm / 2)
    return float(
        distributions.norm.sf(critical - shift) + distributions.norm.cdf(-critical - shift)
    )


def _cohens_h(baseline: float, relative_effect: float) -> float:
    treated = baseline * (1 + relative_effect)
    if not 0 < baseline < 1 or not 0 < treated < 1:
        raise ValueError(
            f"baseline {baseline} with a relative effect of {relative_effect} is not a rate "
            "between 0 and 1"
        )
    return 2 * math.asin(math.sqrt(treated)) - 2 * math.asin(math.sqrt(baseline))


def visitors_needed(
    baseline: float, relative_effect: float, alpha: float = 0.05, wanted_power: float = 0.8
) -> float:
    """Visitors per arm for `power(...) == wanted_power` (not rounded up)."""
    if relative_effect == 0:
        raise ValueError("a relative effect of 0 needs infinitely many visitors")
    low, high = 2.0, 10.0
    if power(baseline, relative_effect, low, alpha) >= wanted_power:
        return low
    while power(baseline, relative_effect, high, alpha) < wanted_power:
        high *= 2
        if high > 1e13:
            raise ValueError("the effect is too small to detect")
    return float(
        optimize.brentq(
            lambda n: power(baseline, relative_effect, n, alpha) - wanted_power,
            low,
            high,
            xtol=1e-9,
        )
    )
