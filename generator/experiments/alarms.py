"""Alarms every build prints: a running experiment whose split does not match its weights
(sample-ratio mismatch) cannot be trusted, whatever its lift says.

Reading a large events store takes seconds, and the events only change when something is
ingested: the alarms are kept with what they were computed from
(`build/.sitegen/sites/<site>/alarms.json`) and computed again only when that changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from generator.config.model import SiteConfig
from generator.config.personalization import Experiment
from generator.experiments import history
from generator.files import replace_text
from generator.layout import BuildLayout


def _inputs(site: SiteConfig, layout: BuildLayout, running: list[Experiment]) -> str:
    """What the alarms depend on: the events store's files, the recorded versions and the
    running experiments' configuration."""
    digest = hashlib.sha256(repr([(e.key, e.arms, e.bucket_version) for e in running]).encode())
    for path in (
        layout.events_of(site.environment),
        layout.events_of(site.environment).with_name(
            layout.events_of(site.environment).name + "-wal"
        ),
        layout.experiments(site.name),
    ):
        try:
            found = path.stat()
        except OSError:
            digest.update(b"-")
            continue
        digest.update(f"{path.name}:{found.st_size}:{found.st_mtime_ns}".encode())
    return digest.hexdigest()


def sample_ratio_alarms(
    site: SiteConfig, layout: BuildLayout, to_save: list[Callable[[], None]]
) -> list[str]:
    """The site's alarms; a write of what was computed is appended to `to_save`, for the
    build to run once it has succeeded."""
    running = [e for e in site.personalization.experiments if e.status == "running"]
    if not running or not layout.events_of(site.environment).exists():
        return []
    inputs = _inputs(site, layout, running)
    saved = layout.site(site.name) / "alarms.json"
    try:
        document = json.loads(saved.read_text(encoding="utf-8"))
        if document.get("inputs") == inputs:
            return [str(alarm) for alarm in document["alarms"]]
    except (OSError, ValueError, KeyError):
        pass
    alarms = _compute(site, layout, running)

    to_save.append(lambda: replace_text(saved, json.dumps({"inputs": inputs, "alarms": alarms})))
    return alarms


def _compute(site: SiteConfig, layout: BuildLayout, running: list[Experiment]) -> list[str]:
    # scipy.stats takes most of a second to import: only a build that has a running
    # experiment's events to read again pays for it.
    from generator.experiments import stats
    from generator.experiments.exposure import experiment_data

    versions = history.read(layout.experiments(site.name))
    data = experiment_data(layout.events_of(site.environment), site.name, running, versions)
    alarms = []
    for experiment in running:
        found = data[experiment.key]
        if not found.visitors:
            continue
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
