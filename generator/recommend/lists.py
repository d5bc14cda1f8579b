"""The precomputed lists a build publishes (kept free of numpy, which only computing them
needs)."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.content.page import Page


@dataclass(frozen=True)
class Recommendations:
    related: dict[str, tuple[str, ...]]
    """Page key -> related page keys, best first."""
    next_pages: dict[str, tuple[str, ...]]
    """Page key -> likeliest next page keys, best first."""
    popular: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Most viewed page keys overall ('') and per segment id, most viewed first."""
    foreign: dict[str, Page] = field(default_factory=dict)
    """Pages of other sites (recommendation sources) that the lists may name, by key."""
    next_chances: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    """Page key -> (next page key, probability that a visitor's next page is that one),
    likeliest first, from first-order transitions in the sessions (for prefetching)."""
