"""What each build version configured for a site's experiments: arms and weights, coverage,
bucket version. The pixel reports the build version a page baked in (`b`), so an exposure is
judged against the weights the visitor was actually split by, even after a weight change.

Kept per site in `build/.sitegen/sites/<site>/experiments.json` (`BuildLayout`): one entry per
personalization version, added by the first build that produced it, never rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.config.personalization import Experiment
from generator.files import replace_text

FORMAT = 1


@dataclass(frozen=True)
class Configured:
    """One experiment as one build version configured it."""

    key: str
    arms: tuple[tuple[str, float], ...]
    coverage: float
    bucket_version: int
    status: str

    def weight(self, arm: str) -> float | None:
        return next((weight for name, weight in self.arms if name == arm), None)


@dataclass(frozen=True)
class Version:
    version: str
    first_built: float
    """Seconds since the epoch."""
    experiments: dict[str, Configured]
    """By experiment key."""


def configured(experiment: Experiment) -> Configured:
    return Configured(
        experiment.key,
        tuple((arm.name, arm.weight) for arm in experiment.arms),
        experiment.coverage,
        experiment.bucket_version,
        experiment.status,
    )


def read(path: Path) -> dict[str, Version]:
    """Every recorded version (none when the file does not exist yet)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    versions = {}
    for version, entry in document.get("versions", {}).items():
        versions[version] = Version(
            version,
            float(entry["first_built"]),
            {
                key: Configured(
                    key,
                    tuple((str(name), float(weight)) for name, weight in value["arms"]),
                    float(value["coverage"]),
                    int(value["bucket_version"]),
                    str(value["status"]),
                )
                for key, value in entry["experiments"].items()
            },
        )
    return versions


def record(path: Path, version: str, experiments: Iterable[Experiment], when: float) -> bool:
    """Add `version` unless it is known; True when it was added."""
    versions = read(path)
    if version in versions:
        return False
    versions[version] = Version(
        version, when, {e.key: configured(e) for e in experiments if e.status != "draft"}
    )
    document = {
        "format": FORMAT,
        "versions": {
            name: {
                "first_built": entry.first_built,
                "experiments": {
                    key: {
                        "arms": [list(arm) for arm in value.arms],
                        "coverage": value.coverage,
                        "bucket_version": value.bucket_version,
                        "status": value.status,
                    }
                    for key, value in sorted(entry.experiments.items())
                },
            }
            for name, entry in sorted(versions.items(), key=lambda item: item[1].first_built)
        },
    }
    replace_text(path, json.dumps(document, indent=1))
    return True
