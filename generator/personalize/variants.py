"""Variant planning: which prebuilt versions of a page exist, and what each one changes.

For a page, the dimensions are the segments whose rules target it, the running
experiments whose pages include it and the feature flags that look at the visitor and
name it in their `pages` (each value but the default one is a segment of its own,
`<flag>~<n>`, see personalize/features.py). Every combination of matching segments (a subset of the
page's segments) and arms (one per experiment) that changes something is one variant file.
Every arm is a variant, the control arm included: the file a visitor was served records the
exposure (its variant key is baked into the page), and the default file must mean "not in
the experiment". Pages nothing targets have no variants at all.

Precedence within a variant, per slot (the page template and the whole page count as the
slots `@template` and `@page`): an experiment's arm wins over rules (the experiment is what
is being measured), and among rules the highest priority wins. Two rules of equal priority
that change one slot and can both apply are an error naming both.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from generator.config.personalization import Change, Experiment, Personalization, Rule
from generator.content.gates import glob_pattern
from generator.errors import ConfigError, Location
from generator.personalize.features import VisitorFlag

TEMPLATE_SLOT = "@template"
PAGE_SLOT = "@page"


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """One change in a variant, and what asked for it (for messages and the runtime)."""

    slot: str
    change: Change
    source: str
    """`rule <id>` or `experiment <key>, arm <arm>`."""
    location: Location | None = None
    """Where the rule or experiment was declared."""


@dataclass(frozen=True, slots=True)
class Variant:
    """One prebuilt version of a page."""

    key: str
    """Names the variant in file paths, cookies-to-file routing and exposure logs:
    `seg-<segment>` and `<experiment>-<arm>` parts joined by `+`, sorted."""
    segments: tuple[str, ...]
    """The page's segments this variant is for (the visitor matches each)."""
    other_segments: tuple[str, ...]
    """The page's segments this variant is not for (the visitor matches none)."""
    arms: tuple[tuple[str, str], ...]
    """(experiment key, arm) pairs, sorted by key."""
    changes: tuple[AppliedChange, ...]
    """What this variant changes, by slot."""
    flags: tuple[tuple[str, int], ...] = ()
    """(flag id, index of its value) for the visitor flags whose value is not the default
    file's; their segments are among `segments`."""


def specificity(variant: Variant) -> tuple[int, str]:
    """Most specific first (more segments and arms), the order in which both the server rules
    and the runtime try a page's variants."""
    return (-(len(variant.segments) + len(variant.arms)), variant.key)


def url_matches(url: str, globs: tuple[str, ...]) -> bool:
    return any(glob_pattern(glob).fullmatch(url) for glob in globs)


def _slots_of(change: Change) -> list[str]:
    slots = []
    if change.slot and (change.markdown or change.partial):
        slots.append(change.slot)
    if change.template:
        slots.append(TEMPLATE_SLOT)
    if change.page:
        slots.append(PAGE_SLOT)
    return slots


def base_changes(url: str, personalization: Personalization) -> tuple[AppliedChange, ...]:
    """Changes every visitor gets: the winners of concluded experiments."""
    applied = []
    for experiment in personalization.experiments:
        if experiment.status == "concluded" and url_matches(url, experiment.pages):
            arm = next(a for a in experiment.arms if a.name == experiment.winner)
            source = f"experiment {experiment.key}, winner {arm.name}"
            applied += [
                AppliedChange(slot, arm.change, source, experiment.location)
                for slot in _slots_of(arm.change)
            ]
    return tuple(applied)


def _segment_of(rule: Rule) -> str:
    return rule.segment or f"rule-{rule.id}"


def _check_exclusive(url: str, experiments: list[Experiment]) -> None:
    for first, second in itertools.combinations(experiments, 2):
        first_slots = {s for arm in first.arms for s in _slots_of(arm.change)}
        second_slots = {s for arm in second.arms for s in _slots_of(arm.change)}
        shared = first_slots & second_slots
        if not shared:
            continue
        exclusive = (
            first.namespace
            and second.namespace
            and first.namespace[0] == second.namespace[0]
            and (
                first.namespace[2] <= second.namespace[1]
                or second.namespace[2] <= first.namespace[1]
            )
        )
        if not exclusive:
            raise ConfigError(
                f"experiments '{first.key}' ({first.location}) and '{second.key}' both change "
                f"{', '.join(sorted(shared))} on {url}; declare them mutually exclusive with "
                "one namespace and disjoint ranges",
                second.location,
            )


def _rule_changes(url: str, rules: list[Rule]) -> dict[str, AppliedChange]:
    """Per slot, the winning rule among `rules` (all of which apply to the visitor)."""
    winners: dict[str, Rule] = {}
    for rule in sorted(rules, key=lambda r: (-r.priority, r.id)):
        for slot in _slots_of(rule.change):
            current = winners.get(slot)
            if current is None:
                winners[slot] = rule
            elif current.priority == rule.priority:
                raise ConfigError(
                    f"rules '{current.id}' ({current.location}) and '{rule.id}' "
                    f"({rule.location}) both change {slot} on {url} with priority "
                    f"{rule.priority} and can apply to the same visitor; give one a higher "
                    "priority",
                    rule.location,
                )
    return {
        slot: AppliedChange(slot, rule.change, f"rule {rule.id}", rule.location)
        for slot, rule in winners.items()
    }


def plan_variants(
    url: str, personalization: Personalization, flags: tuple[VisitorFlag, ...] = ()
) -> tuple[Variant, ...]:
    """Every variant of the page at `url` (none when nothing targets it)."""
    rules = [rule for rule in personalization.rules if url_matches(url, rule.pages)]
    experiments = [
        e
        for e in personalization.experiments
        if e.status == "running" and url_matches(url, e.pages)
    ]
    flags = tuple(flag for flag in flags if url_matches(url, flag.pages))
    if not rules and not experiments and not flags:
        return ()
    _check_exclusive(url, experiments)
    segments = sorted({_segment_of(rule) for rule in rules})
    # Each experiment: one of its arms, or None for visitors it does not enrol (coverage,
    # namespace, or no assignment yet).
    arm_choices: list[list[tuple[str, str, Change] | None]] = [
        [None, *[(e.key, arm.name, arm.change) for arm in e.arms]]
        for e in sorted(experiments, key=lambda e: e.key)
    ]
    declared = {e.key: e.location for e in experiments}
    # Each flag: its default file's value (None), or the index of another of its values.
    flag_choices: list[list[tuple[VisitorFlag, int] | None]] = [
        [None, *[(flag, index) for index in range(1, len(flag.values))]] for flag in flags
    ]
    count = (
        2 ** len(segments)
        * math.prod(len(choices) for choices in arm_choices)
        * math.prod(len(choices) for choices in flag_choices)
        - 1
    )
    limit = personalization.max_variants
    if count > limit:
        dimensions = (
            [f"segments {', '.join(segments)} ({2 ** len(segments)} combinations)"]
            if segments
            else []
        )
        dimensions += [
            f"experiment {choices[1][0]} ({len(choices) - 1} arms + not enrolled)"
            for choices in arm_choices
            if choices[1] is not None
        ]
        dimensions += [f"feature flag {flag.id} ({len(flag.values)} values)" for flag in flags]
        raise ConfigError(
            f"{url} would need {count} variants, more than the limit of {limit} "
            f"(personalization.max_variants); dimensions: " + " × ".join(dimensions)
        )
    variants = []
    for size in range(len(segments) + 1):
        for chosen in itertools.combinations(segments, size):
            applying = [rule for rule in rules if _segment_of(rule) in chosen]
            by_slot = _rule_changes(url, applying)
            for choice, flag_choice in itertools.product(
                itertools.product(*arm_choices), itertools.product(*flag_choices)
            ):
                arms = [arm for arm in choice if arm is not None]
                valued = [(flag.id, index) for flag, index in filter(None, flag_choice)]
                flag_segments = [flag.segment(index) for flag, index in filter(None, flag_choice)]
                if not chosen and not arms and not valued:
                    continue
                changes = dict(by_slot)
                for key, arm, change in arms:
                    for slot in _slots_of(change):
                        changes[slot] = AppliedChange(
                            slot, change, f"experiment {key}, arm {arm}", declared[key]
                        )
                parts = sorted(
                    [f"seg-{segment}" for segment in [*chosen, *flag_segments]]
                    + [f"{key}-{arm}" for key, arm, _ in arms]
                )
                variants.append(
                    Variant(
                        key="+".join(parts),
                        segments=tuple(sorted([*chosen, *flag_segments])),
                        other_segments=tuple(s for s in segments if s not in chosen),
                        arms=tuple((key, arm) for key, arm, _ in arms),
                        changes=tuple(changes[slot] for slot in sorted(changes)),
                        flags=tuple(valued),
                    )
                )
    return tuple(sorted(variants, key=lambda variant: variant.key))


def is_whole_page(variant: Variant) -> bool:
    """Whether the variant replaces the page or its template (and so can only be shown by
    serving its own file), rather than changing slots (which travel inside every file of
    the page as <template> alternatives)."""
    return bool(variant.flags) or any(
        applied.slot in (TEMPLATE_SLOT, PAGE_SLOT) for applied in variant.changes
    )


def content_files(variants: tuple[Variant, ...]) -> dict[str, str]:
    """Variant key -> key of the variant whose file holds its content, `""` for the default
    page. A variant that changes nothing (a control arm, say) is the default page: it gets
    no file, no routing rule and no swap. Variants that make the same changes share the file
    of the least specific of them."""
    files: dict[str, str] = {}
    first: dict[tuple[object, ...], str] = {}
    for variant in sorted(variants, key=lambda v: (-specificity(v)[0], v.key)):
        signature = tuple((applied.slot, applied.change) for applied in variant.changes) + tuple(
            variant.flags
        )
        files[variant.key] = first.setdefault(signature, variant.key) if signature else ""
    return files
