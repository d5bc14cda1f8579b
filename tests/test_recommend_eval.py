"""Next-page models and their evaluation: a hand-made case with a known answer, the real
yoochoose sample when it is present, and bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from generator.recommend.evaluate import evaluate, evaluate_all
from generator.recommend.models import MODELS, ItemIndex
from generator.recommend.sessions import Session, collapse_reloads, read_session_file
from tests.conftest import SHARED_DATA, Result

DATA = SHARED_DATA / "yoochoose-100k"


def sessions(*paths: str, start: float = 0.0) -> list[Session]:
    return [Session(f"s{n}", start + n, tuple(path.split())) for n, path in enumerate(paths)]


# After "boots" people read "laces" (most), then "socks"; "tent" leads to "poles".
TRAIN = sessions(
    "boots laces",
    "boots laces",
    "boots laces socks",
    "boots socks",
    "tent poles",
    "tent poles",
    "home boots laces",
    "home tent poles",
)


def test_collapse_reloads() -> None:
    assert collapse_reloads(["a", "a", "b", "a", "a"]) == ("a", "b", "a")


@pytest.mark.parametrize("name", ["transitions", "sequential", "hybrid", "covisit"])
def test_models_find_the_known_next_page(name: str) -> None:
    index = ItemIndex.of(TRAIN)
    model = MODELS[name](index).fit(TRAIN)
    boots, tent = index.position["boots"], index.position["tent"]
    first = model.recommend([boots], 3, exclude=[boots])
    assert index.items[first[0]] == "laces"
    assert "boots" not in [index.items[i] for i in first]  # never the current page
    assert index.items[model.recommend([tent], 1, exclude=[tent])[0]] == "poles"


def test_metrics_on_a_case_computed_by_hand() -> None:
    index = ItemIndex.of(TRAIN)
    model = MODELS["transitions"](index).fit(TRAIN)
    # boots->laces: rank 1; laces->socks: rank 1 (only successor); tent->home: never seen
    # after tent (miss); the reload of laces is collapsed away.
    test = sessions("boots laces laces socks", "tent home")
    score = evaluate(model, test, k=10)
    assert score.predictions == 3
    assert score.hit_rate == pytest.approx(2 / 3)
    assert score.mrr == pytest.approx(2 / 3)


def test_popularity_ignores_the_session() -> None:
    index = ItemIndex.of(TRAIN)
    model = MODELS["popularity"](index).fit(TRAIN)
    assert model.recommend([index.position["tent"]], 1) == [index.position["boots"]]


def test_yoochoose_next_page_quality() -> None:
    if not DATA.exists():
        pytest.skip(f"the evaluation data is absent ({DATA}); see ../shared/data/README.md")
    train = read_session_file(DATA / "yoochoose-clicks-100k_train_full.txt")
    test = read_session_file(DATA / "yoochoose-clicks-100k_test.txt")
    scores = {score.model: score for score in evaluate_all(train, test)}
    best = max(scores.values(), key=lambda score: score.hit_rate)
    assert best.hit_rate >= 0.48 and best.mrr >= 0.26, scores
    assert scores["popularity"].hit_rate < 0.1  # the baseline is weak


def test_cli_eval_prints_a_table_and_rejects_bad_files(
    tmp_path: Path, sitegen: Callable[..., Result]
) -> None:
    good = tmp_path / "train.tsv"
    good.write_text("SessionId\tItemId\tTime\n1\ta\t1\n1\tb\t2\n2\ta\t3\n2\tb\t4\n")
    later = tmp_path / "test.tsv"
    later.write_text("SessionId\tItemId\tTime\n3\ta\t10\n3\tb\t11\n")
    result = sitegen(tmp_path, "recommend", "eval", "--train", str(good), "--test", str(later))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[1].split() == ["model", "HR@10", "MRR@10", "coverage"]
    assert lines[2].split()[0] == "popularity" and len(lines) == 7
    bad = tmp_path / "bad.tsv"
    bad.write_text("SessionId\tItemId\tTime\n1\ta\tnoon\n")
    result = sitegen(tmp_path, "recommend", "eval", "--train", str(bad), "--test", str(later))
    assert result.code == 1
    assert f"{bad}:2: expected a time in seconds, got 'noon'" in result.err
