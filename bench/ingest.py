"""Ingest benchmark: lines per second and peak memory of `analytics ingest` on a synthetic
combined-format log: on one core (the ratio to a regex-only pass over the same lines), then
with one worker process per core (the speed-up over one core).

    python bench/ingest.py                  # 1,000,000 lines, 3 runs each
    python bench/ingest.py --lines 200000 --runs 1
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]


def write_log(path: Path, lines: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    pages = [f"/guides/topic-{n}/" for n in range(2000)]
    with open(path, "w") as stream:
        for number in range(lines):
            ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
            second = number // 10
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S", time.gmtime(1780000000 + second))
            kind = rng.random()
            if kind < 0.5:
                target = (
                    f"/_sg/p.gif?e=view&p={rng.choice(pages)}&v=&b=abc"
                    f"&u=v{rng.randrange(50000)}&s=s{rng.randrange(80000)}&t={number}"
                )
            elif kind < 0.8:
                target = rng.choice(pages)
            else:
                target = f"/assets/main.{rng.randrange(99):08x}.css"
            stream.write(
                f'{ip} - - [{stamp} +0000] "GET {target} HTTP/1.1" 200 512 '
                f'"-" "{rng.choice(AGENTS)}"\n'
            )


def regex_pass(log: Path) -> float:
    """Seconds for the peer the issue names: reading the log and matching each line with
    the log-line regular expression, nothing else."""
    from generator.analytics.logs import FAST_LINE

    started = time.perf_counter()
    with open(log, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            FAST_LINE.match(line)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    from generator.analytics.ingest import ingest
    from generator.analytics.store import EventStore

    rates, ratios, parallel = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "access.log"
        write_log(log, arguments.lines)
        for run in range(arguments.runs):
            store = EventStore(Path(folder) / f"events-{run}.sqlite")
            started = time.perf_counter()
            report = ingest(store, "bench", [log], [])
            seconds = time.perf_counter() - started
            store.close()
            regex = regex_pass(log)
            rates.append(arguments.lines / seconds)
            ratios.append(seconds / regex)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for run in range(arguments.runs):
            store = EventStore(Path(folder) / f"events-parallel-{run}.sqlite")
            started = time.perf_counter()
            ingest(store, "bench", [log], [], jobs=0)
            parallel.append(arguments.lines / (time.perf_counter() - started))
            store.close()
    print(f"{report.summary()}")
    median = statistics.median(rates)
    print(
        f"{arguments.runs} runs: median {median:,.0f} lines/s on one core (range "
        f"{min(rates):,.0f}-{max(rates):,.0f}; target >= 250,000: "
        f"{'met' if median >= 250_000 else 'NOT met'}); ingest takes "
        f"{statistics.median(ratios):.2f}x the time of a regex-only pass over the same lines "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}); peak memory {peak:.0f} MiB"
    )
    fastest = statistics.median(parallel)
    print(
        f"{arguments.runs} runs with one worker per core ({os.cpu_count()} cores): median "
        f"{fastest:,.0f} lines/s (range {min(parallel):,.0f}-{max(parallel):,.0f}), "
        f"{fastest / median:.2f}x one core"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
