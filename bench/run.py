"""Benchmark: build one generated corpus with sitegen, Hugo and Pelican; print wall time,
peak memory (summed over the whole process tree, worker processes included) and ratios.

    python bench/run.py                 # 5,000 pages, median of 3 runs each
    python bench/run.py --pages 500 --runs 1

Needs `hugo` (Debian package) and `pelican` + `markdown` (PyPI; `pip install -e '.[bench]'`).
Timing is measured here and printed, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate_pages, write_hugo, write_pelican, write_sitegen  # noqa: E402

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


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


def measure(command: list[str], cwd: Path) -> Measurement:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    return Measurement(seconds, peak)


def median(runs: list[Measurement]) -> Measurement:
    return Measurement(statistics.median(r.seconds for r in runs),
                       max(r.peak_bytes for r in runs))


def repeat(count: int, prepare: object, command: list[str], cwd: Path) -> Measurement:
    results = []
    for _ in range(count):
        if callable(prepare):
            prepare()
        results.append(measure(command, cwd))
    return median(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work")
    parser.add_argument("--jobs", type=int, default=0, help="sitegen --jobs (0: all cores)")
    arguments = parser.parse_args()

    hugo = shutil.which("hugo")
    pelican = shutil.which("pelican")
    missing = [name for name, found in (("hugo (apt-get install hugo)", hugo),
                                        ("pelican (pip install -e '.[bench]')", pelican))
               if not found]
    if missing:
        print("missing peers: " + ", ".join(missing), file=sys.stderr)
        return 1

    work = arguments.work.resolve()
    print(f"generating {arguments.pages} pages in {work} ...", flush=True)
    pages = generate_pages(arguments.pages)
    posts = write_sitegen(pages, work / "sitegen")
    write_hugo(pages, work / "hugo")
    write_pelican(pages, work / "pelican")
    words = sum(len(p.body.split()) for p in pages) / len(pages)
    print(f"corpus: {len(pages)} pages, {words:.0f} words each on average, 3 tags each")

    sitegen_root = work / "sitegen"
    build_dir = sitegen_root / "build"
    sitegen = [sys.executable, "-m", "generator.cli", "--root", str(sitegen_root), "build",
               "--quiet", "--jobs", str(arguments.jobs)]

    def sitegen_clean() -> None:
        shutil.rmtree(build_dir, ignore_errors=True)

    def hugo_clean() -> None:
        shutil.rmtree(work / "hugo/public", ignore_errors=True)
        shutil.rmtree(work / "hugo/resources", ignore_errors=True)

    def pelican_clean() -> None:
        shutil.rmtree(work / "pelican/output", ignore_errors=True)
        shutil.rmtree(work / "pelican/cache", ignore_errors=True)

    edited = posts / "page-00042.md"
    original = edited.read_text()
    edit_counter = iter(range(10**6))

    def edit_one_page() -> None:
        edited.write_text(original.replace("\n\n", f"\n\nEdited paragraph {next(edit_counter)}."
                                           "\n\n", 1))

    results = {}
    runs = arguments.runs
    results["sitegen cold"] = repeat(runs, sitegen_clean, sitegen, sitegen_root)
    results["sitegen no-op"] = repeat(runs, None, sitegen, sitegen_root)
    results["sitegen one-page edit"] = repeat(runs, edit_one_page, sitegen, sitegen_root)
    edited.write_text(original)
    results["hugo cold"] = repeat(runs, hugo_clean,
                                  [hugo, "--quiet", "-s", str(work / "hugo")], work / "hugo")
    results["pelican cold"] = repeat(
        runs, pelican_clean, [pelican, "content", "-s", "pelicanconf.py", "-o", "output",
                              "-q"], work / "pelican")

    print()
    print(f"{'build':<24}{'wall s':>10}{'peak MiB':>12}")
    for name, result in results.items():
        print(f"{name:<24}{result.seconds:>10.2f}{result.peak_bytes / 2**20:>12.0f}")

    hugo_cold = results["hugo cold"].seconds
    pelican_cold = results["pelican cold"].seconds
    checks = [
        ("cold / hugo cold", results["sitegen cold"].seconds / hugo_cold, 1.0),
        ("cold / pelican cold", results["sitegen cold"].seconds / pelican_cold, 0.15),
        ("no-op / hugo cold", results["sitegen no-op"].seconds / hugo_cold, 0.05),
        ("one-page edit / hugo cold", results["sitegen one-page edit"].seconds / hugo_cold,
         0.10),
    ]
    print()
    print(f"{'ratio':<28}{'measured':>10}{'target':>10}")
    for name, ratio, target in checks:
        verdict = "met" if ratio <= target else "NOT met"
        print(f"{name:<28}{ratio:>10.3f}{target:>10.2f}  {verdict}")
    peak = max(r.peak_bytes for n, r in results.items() if n.startswith("sitegen")) / 2**30
    print(f"{'sitegen peak memory GiB':<28}{peak:>10.2f}{1.0:>10.2f}  "
          f"{'met' if peak <= 1.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
