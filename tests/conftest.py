"""Shared helpers: a copy of the fixture network per test, running the CLI, reading trees."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from tests.ftp import deployable, ftp_server  # noqa: F401  (fixtures for every test module)

FIXTURES = Path(__file__).parent / "fixtures"


def _shared_data() -> Path:
    """$SITEGEN_SHARED_DATA, else the nearest `shared/data` beside the checkout or beside
    one of its parent folders (a clone made deeper than ../ still finds it)."""
    if os.environ.get("SITEGEN_SHARED_DATA"):
        return Path(os.environ["SITEGEN_SHARED_DATA"])
    checkout = Path(__file__).resolve().parents[1]
    for folder in checkout.parents:
        if (folder / "shared/data").is_dir():
            return folder / "shared/data"
    return checkout.parent / "shared/data"


SHARED_DATA = _shared_data()
"""The third-party evaluation data (../shared/data, or $SITEGEN_SHARED_DATA): read, never
copied; tests that need it say so and skip when it is absent (its README asks for that; a
CI machine without it cannot be given it, as it may not be redistributed)."""


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/network."""
    destination = tmp_path / "project"
    shutil.copytree(FIXTURES / "network", destination)
    return destination


@pytest.fixture
def sitegen(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the command line in-process: sitegen(root, 'build', '--clean')."""

    def run(root: Path, *arguments: str) -> Result:
        capsys.readouterr()
        try:
            code = main(["--root", str(root), *arguments])
        except SystemExit as exit:
            code = int(exit.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under `directory`, relative path -> bytes."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def demo_copy(folder: Path) -> Path:
    """A copy of the repository's demo network (sites, content, themes, users) in
    `folder`."""
    repo = Path(__file__).resolve().parent.parent
    for name in ("sites", "content", "themes"):
        shutil.copytree(repo / name, folder / name)
    shutil.copy(repo / "users.yaml", folder / "users.yaml")
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def jsonl(path: Path) -> list[Any]:
    """The entries of a JSONL file that sitegen appends to (entries start on a new line,
    so the file may hold empty lines)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def dies_after(count: int, real: Callable[..., Any]) -> Callable[..., Any]:
    """`real`, except that call number `count + 1` and every later one raise
    KeyboardInterrupt (what a kill leaves: nothing more done). Calls are counted under a
    lock: a deploy's pool calls from several threads at once."""
    lock = threading.Lock()
    calls = [0]

    def dying(*arguments: Any, **keywords: Any) -> Any:
        with lock:
            calls[0] += 1
            reached = calls[0] > count
        if reached:
            raise KeyboardInterrupt(f"killed after {count} call(s)")
        return real(*arguments, **keywords)

    return dying


@pytest.fixture
def browser() -> Iterator[Any]:
    """A Playwright-driven Chromium (tests/browser.py), closed after the test."""
    from tests.browser import playwright_chromium

    with playwright_chromium() as launched:
        yield launched
