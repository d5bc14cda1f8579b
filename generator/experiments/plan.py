"""`sitegen experiments plan`: how many visitors, and how many days, an experiment needs."""

from __future__ import annotations

from pathlib import Path

from generator import events as q
from generator.events import snapshot
from generator.experiments import stats

WINDOW_DAYS = 28
"""Traffic is measured over the store's last four weeks."""


def daily_visitors(store: Path, site: str) -> float | None:
    """Distinct visitors a day (pixel views) over the last `WINDOW_DAYS` of the store."""
    if not store.exists():
        return None
    with snapshot(store) as connection:
        last = q.LAST_VIEW_TIME(connection, site).fetchone()[0]
        if last is None:
            return None
        since = last - WINDOW_DAYS * 86400
        first, visitors = q.VISITORS_SINCE(connection, site, since).fetchone()
    days = max(1.0, float(last - first) / 86400)
    return float(visitors) / days


def plan_text(
    baseline: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    traffic: float | None = None,
) -> str:
    """The plan, in words. Several treatment arms share alpha (Bonferroni, which Holm's
    procedure never does worse than)."""
    if arms < 2:
        raise ValueError("an experiment has at least two arms (control and one more)")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("--alpha and --power must be between 0 and 1")
    shared = alpha / (arms - 1)
    per_arm = stats.visitors_needed(baseline, mde, shared, power)
    rounded = int(per_arm) + (per_arm > int(per_arm))
    lines = [
        f"to detect a {mde:+.0%} relative lift on a {baseline:.2%} conversion rate "
        f"({baseline:.2%} -> {baseline * (1 + mde):.2%}) with {power:.0%} power at alpha "
        f"{alpha:g}" + (f" ({shared:.3g} per comparison over {arms - 1} arms)" if arms > 2 else ""),
        f"  {rounded:,} visitors per arm, {rounded * arms:,} in all (fixed horizon: read once)",
        "  the sequential engine, which may be read every build, needs more to reach the same "
        "power",
    ]
    if traffic:
        days = rounded * arms / traffic
        lines.append(
            f"  at the site's {traffic:,.0f} visitors a day (all of them enrolled): "
            f"{days:,.1f} days"
        )
    return "\n".join(lines)
