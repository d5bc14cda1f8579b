"""Recommendation quality on the shared third-party data, against issue 17's targets:
YOOCHOOSE-100k (next page, paired with first-order transitions) and msweb (related pages,
paired with co-visitation). Quality, not time: the figures are deterministic.

    python bench/recommend_quality.py                     # ../shared/data
    SITEGEN_SHARED_DATA=/path/to/data python bench/recommend_quality.py

YOOCHOOSE is also what `sitegen recommend eval --train ... --test ... --baseline
transitions` prints; msweb's file is not a session file, so it is read here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from generator.recommend.evaluate import Protocol, Score, evaluate_all, format_table
from generator.recommend.sessions import read_msweb, read_session_file


def shared_data() -> Path:
    if os.environ.get("SITEGEN_SHARED_DATA"):
        return Path(os.environ["SITEGEN_SHARED_DATA"])
    for folder in Path(__file__).resolve().parents:
        if (folder / "shared/data").is_dir():
            return folder / "shared/data"
    raise SystemExit("no shared/data found: set SITEGEN_SHARED_DATA")


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main() -> int:
    data = shared_data()
    yoochoose = data / "yoochoose-100k"
    train = read_session_file(yoochoose / "yoochoose-clicks-100k_train_full.txt")
    test = read_session_file(yoochoose / "yoochoose-clicks-100k_test.txt")
    found = evaluate_all(train, test, baseline="transitions")
    print(f"YOOCHOOSE-100k: {len(train)} training sessions, {len(test)} test sessions")
    print(format_table(found, 10, "transitions"))
    best = max(found, key=lambda score: score.hit_rate)
    print(
        f"best model {best.model}: HR@10 {best.hit_rate:.3f} (>= 0.51: "
        f"{verdict(best.hit_rate >= 0.51)}), MRR@10 {best.mrr:.3f} (>= 0.28: "
        f"{verdict(best.mrr >= 0.28)}); paired with transitions, intervals above 0: "
        f"{verdict(above(best, 'hit_rate') and above(best, 'mrr'))}\n"
    )
    visitors, _ = read_msweb(data / "msweb" / "anonymous-msweb.data.gz")
    cut = int(len(visitors) * 0.8)
    # Visitors are in file order (no times): the first 80% train, the rest with at least
    # two areas are tested.
    later = [visitor for visitor in visitors[cut:] if len(set(visitor.items)) >= 2]
    names = ("popularity", "covisit", "vsknn", "stan", "hybrid")
    found = evaluate_all(visitors[:cut], later, names, Protocol(related=True), baseline="covisit")
    print(f"msweb (related pages): {cut} training visitors, {len(later)} test visitors")
    print(format_table(found, 10, "covisit"))
    hybrid = next(score for score in found if score.model == "hybrid")
    print(
        f"hybrid vs covisit, HR@10 {hybrid.versus['hit_rate'][0]:+.3f}: interval above 0: "
        f"{verdict(above(hybrid, 'hit_rate'))}"
    )
    return 0


def above(score: Score, measure: str) -> bool:
    return score.versus[measure][1] > 0


if __name__ == "__main__":
    sys.exit(main())
