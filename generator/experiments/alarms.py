"""Alarms every build prints: a running experiment whose split does not match its weights
(sample-ratio mismatch) cannot be trusted, whatever its lift says."""

from __future__ import annotations

from generator.config.model import SiteConfig
from generator.experiments import history, stats
from generator.experiments.exposure import experiment_data
from generator.layout import BuildLayout


def sample_ratio_alarms(site: SiteConfig, layout: BuildLayout) -> list[str]:
    running = [e for e in site.personalization.experiments if e.status == "running"]
    if not running or not layout.events.exists():
        return []
    versions = history.read(layout.experiments(site.name))
    data = experiment_data(layout.events, site.name, running, versions)
    alarms = []
    for experiment in running:
        found = data[experiment.key]
        names = list(found.arms)
        ratio = stats.sample_ratio(
            [found.arms[name].visitors for name in names],
            [found.expected.get(name, 0.0) for name in names],
        )
        if ratio.mismatch:
            observed = " / ".join(
                f"{name} {count}" for name, count in zip(names, ratio.observed, strict=True)
            )
            expected = " / ".join(f"{count:.0f}" for count in ratio.expected)
            alarms.append(
                f"{site.name}: experiment {experiment.id}: sample ratio mismatch "
                f"(p = {ratio.p_value:.2g}): {observed} visitors against {expected} expected "
                "by the weights; no decision until its cause is found (a redirect, a cached "
                "page, a bot, a bug in the assignment)"
            )
    return alarms
