"""Deterministic assignment, the same as GrowthBook's SDKs and our visitor runtime.

`hash_unit` is GrowthBook's hash: version 1 is `fnv32a(value + seed) % 1000 / 1000`, version
2 is `fnv32a(str(fnv32a(seed + value))) % 10000 / 10000`, both FNV-1a over UTF-16 code units
(what JavaScript's `charCodeAt` sees). Bucket ranges come from cumulative weights, each range
shrunk from its start by the coverage, so lowering coverage only ever drops visitors out of
an experiment: it never moves one to another arm. The JavaScript runtime implements the same
functions and both are tested against `tests/vectors/personalization.json`.
"""

from __future__ import annotations

from collections.abc import Sequence

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


def fnv32a(text: str) -> int:
    """32-bit FNV-1a over the UTF-16 code units of `text`."""
    value = FNV_OFFSET
    encoded = text.encode("utf-16-le", "surrogatepass")
    for index in range(0, len(encoded), 2):
        value ^= encoded[index] | (encoded[index + 1] << 8)
        value = (value * FNV_PRIME) & 0xFFFFFFFF
    return value


def hash_unit(seed: str, value: str, version: int = 2) -> float | None:
    """A number in [0, 1) for (seed, value); None for an unknown hash version."""
    if version == 2:
        return (fnv32a(str(fnv32a(seed + value))) % 10000) / 10000
    if version == 1:
        return (fnv32a(value + seed) % 1000) / 1000
    return None


BucketRange = tuple[float, float]


def bucket_ranges(
    arm_count: int, coverage: float = 1.0, weights: Sequence[float] | None = None
) -> list[BucketRange]:
    """[start, end) of each arm: cumulative weights, each range `coverage * weight` long.

    As in GrowthBook, weights that do not match the arm count or do not sum to 1 (within
    0.01) fall back to equal weights; our config validation refuses such weights before
    they get here.
    """
    coverage = min(1.0, max(0.0, coverage))
    equal = [1.0 / arm_count] * arm_count if arm_count else []
    if weights is None or len(weights) != arm_count or not 0.99 <= sum(weights) <= 1.01:
        weights = equal
    ranges = []
    cumulative = 0.0
    for weight in weights:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return ranges


def choose_arm(unit: float, ranges: Sequence[BucketRange]) -> int:
    """Index of the arm whose range holds `unit`, or -1 (not in the experiment)."""
    for index, (start, end) in enumerate(ranges):
        if start <= unit < end:
            return index
    return -1


def in_namespace(visitor: str, namespace: tuple[str, float, float]) -> bool:
    """Is the visitor inside the namespace's [start, end) slice (GrowthBook: hash v1 with the
    seed `__<namespace>`)? Experiments with disjoint slices of one namespace never share a
    visitor."""
    name, start, end = namespace
    unit = hash_unit(f"__{name}", visitor, 1)
    return unit is not None and start <= unit < end


def assign(
    visitor: str,
    key: str,
    arm_count: int,
    *,
    weights: Sequence[float] | None = None,
    coverage: float = 1.0,
    seed: str | None = None,
    hash_version: int = 2,
    namespace: tuple[str, float, float] | None = None,
) -> int:
    """The arm index a visitor gets in an experiment, or -1 if not enrolled."""
    if namespace is not None and not in_namespace(visitor, namespace):
        return -1
    unit = hash_unit(seed or key, visitor, hash_version)
    if unit is None:
        return -1
    return choose_arm(unit, bucket_ranges(arm_count, coverage, weights))
