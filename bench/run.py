"""Benchmark: build one generated corpus with sitegen, Hugo and Pelican; print wall time,
peak memory (summed over the whole process tree, worker processes included) and ratios.

    python bench/run.py                 # 5,000 pages, 5 runs of each scenario
    python bench/run.py --pages 500 --runs 1

Needs `hugo` (Debian package) and `pelican` + `markdown` (PyPI; `pip install -e '.[bench]'`).
Timing is measured here and printed, never asserted in tests.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate_pages, write_hugo, write_pelican, write_sitegen  # noqa: E402

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
ENVIRONMENT = {
    name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
}
"""The builds run as on a user's machine: Python caches its bytecode (this workplace sets
PYTHONDONTWRITEBYTECODE, which would add the compilation of every module to each run)."""


@dataclass
class Measurement:
    seconds: float
    peak_bytes: int


def _tree_rss(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * PAGE_SIZE
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(command: list[str], cwd: Path, codes: tuple[int, ...] = (0,)) -> Measurement:
    """Wall time from start to exit (waited for, not polled) and the peak resident memory
    of the process tree (polled every 20 ms on a thread)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENVIRONMENT
    )
    peak = [0]

    def poll() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss(process.pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    stderr = process.stderr.read().decode() if process.stderr else ""
    process.wait()
    seconds = time.perf_counter() - started
    watcher.join()
    if process.returncode not in codes:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    return Measurement(seconds, peak[0])


@dataclass
class Runs:
    """Several runs of one scenario."""

    seconds: list[float]
    peak_bytes: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> str:
        return f"{min(self.seconds):.2f}-{max(self.seconds):.2f}"


def repeat(count: int, prepare: Callable[[], None] | None, command: list[str], cwd: Path) -> Runs:
    results = []
    for _ in range(count):
        if prepare is not None:
            prepare()
        results.append(measure(command, cwd))
    return Runs([r.seconds for r in results], max(r.peak_bytes for r in results))


def peers() -> dict[str, str]:
    """Hugo from PATH; Pelican from PATH or beside this Python (the project's venv, where
    `pip install -e '.[bench]'` puts it). Exits naming what is missing."""
    found = {
        "hugo": shutil.which("hugo"),
        "pelican": shutil.which("pelican")
        or shutil.which("pelican", path=str(Path(sys.executable).parent)),
    }
    hints = {"hugo": "apt-get install hugo", "pelican": "pip install -e '.[bench]'"}
    missing = [f"{name} ({hints[name]})" for name, path in found.items() if not path]
    if missing:
        raise SystemExit("missing peers: " + ", ".join(missing))
    return {name: str(path) for name, path in found.items()}


TARGETS = (
    ("cold / hugo cold", "sitegen cold", 0.8),
    ("no-op / hugo cold", "sitegen no-op", 0.02),
    ("one-page edit / hugo cold", "sitegen one-page edit", 0.06),
)
"""The ratios issue 12 asks for (with related content on)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5, help="runs of each scenario")
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work")
    parser.add_argument("--jobs", type=int, default=0, help="sitegen --jobs (0: all cores)")
    parser.add_argument(
        "--no-related",
        dest="related",
        action="store_false",
        help="no related content (on by default, as on real sites; Hugo "
        "lists its own related pages too)",
    )
    arguments = parser.parse_args()
    tools = peers()
    # What installing the package does: compile its modules once, before anything is timed.
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "generator", quiet=1)
    work = arguments.work.resolve()
    results = run_scenarios(work, tools, arguments)
    report(results, arguments)
    return 0


def run_scenarios(
    work: Path, tools: dict[str, str], arguments: argparse.Namespace
) -> dict[str, Runs]:
    print(f"generating {arguments.pages} pages in {work} ...", flush=True)
    pages = generate_pages(arguments.pages)
    posts = write_sitegen(pages, work / "sitegen", arguments.related)
    write_hugo(pages, work / "hugo", arguments.related)
    write_pelican(pages, work / "pelican")
    words = sum(len(p.body.split()) for p in pages) / len(pages)
    print(
        f"corpus: {len(pages)} pages, {words:.0f} words each on average, 3 tags each; "
        f"related content {'on' if arguments.related else 'off'}",
        flush=True,
    )

    sitegen_root = work / "sitegen"
    sitegen = [
        sys.executable,
        "-m",
        "generator.cli",
        "--root",
        str(sitegen_root),
        "build",
        "--quiet",
        "--jobs",
        str(arguments.jobs),
    ]
    edited = posts / "page-00042.md"
    original = edited.read_text()
    edits = iter(range(10**6))

    def edit_one_page() -> None:
        edited.write_text(original.replace("\n\n", f"\n\nEdited paragraph {next(edits)}.\n\n", 1))

    runs = arguments.runs
    results = {
        "sitegen cold": repeat(
            runs, partial(_remove, sitegen_root / "build"), sitegen, sitegen_root
        ),
        "sitegen no-op": repeat(runs, None, sitegen, sitegen_root),
        "sitegen one-page edit": repeat(runs, edit_one_page, sitegen, sitegen_root),
    }
    edited.write_text(original)
    results["hugo cold"] = repeat(
        runs,
        partial(_remove, work / "hugo/public", work / "hugo/resources"),
        [tools["hugo"], "--quiet", "-s", str(work / "hugo")],
        work / "hugo",
    )
    results["pelican cold"] = repeat(
        runs,
        partial(_remove, work / "pelican/output", work / "pelican/cache"),
        [tools["pelican"], "content", "-s", "pelicanconf.py", "-o", "output", "-q"],
        work / "pelican",
    )
    return results


def _remove(*folders: Path) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def report(results: dict[str, Runs], arguments: argparse.Namespace) -> None:
    print()
    print(f"{arguments.runs} runs each; median, and the range of all runs")
    print(f"{'build':<24}{'median s':>10}{'range s':>14}{'peak MiB':>10}")
    for name, result in results.items():
        print(
            f"{name:<24}{result.median:>10.3f}{result.spread():>14}"
            f"{result.peak_bytes / 2**20:>10.0f}"
        )
    hugo = results["hugo cold"]
    print()
    print(f"{'ratio (of medians)':<28}{'measured':>10}{'target':>10}")
    for label, name, target in TARGETS:
        ratio = results[name].median / hugo.median
        verdict = "met" if ratio <= target else "NOT met"
        print(f"{label:<28}{ratio:>10.3f}{target:>10.2f}  {verdict}")
    pelican = results["sitegen cold"].median / results["pelican cold"].median
    print(f"{'cold / pelican cold':<28}{pelican:>10.3f}")
    peak = max(r.peak_bytes for n, r in results.items() if n.startswith("sitegen")) / 2**30
    print(
        f"{'sitegen peak memory GiB':<28}{peak:>10.2f}{1.0:>10.2f}  "
        f"{'met' if peak <= 1.0 else 'NOT met'}"
    )


if __name__ == "__main__":
    sys.exit(main())
