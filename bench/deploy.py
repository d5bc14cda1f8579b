"""Deploy benchmark: bytes sent against `lftp mirror -R`, and the connection pool against one
connection on a server that adds 20 ms to every FTP round trip.

    python bench/deploy.py                 # both parts
    python bench/deploy.py --part bytes    # the demo site's trailhead, sitegen vs lftp
    python bench/deploy.py --part pool --files 1000

Bytes are counted by the FTP server (pyftpdlib on loopback) as they arrive, for both tools
alike: for sitegen they include its own state (manifest, kept version, journal, progress).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "bench", "bench-pass"
SITEGEN = str(Path(sys.executable).with_name("sitegen"))


@contextmanager
def ftp_server(home: Path, delay: float = 0.0) -> Iterator[tuple[int, list[int]]]:
    """pyftpdlib on loopback, one thread per connection; yields the port and a one-item
    list holding the bytes received so far. `delay` is added to every command's reply."""
    import logging

    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    quiet = logging.getLogger("pyftpdlib")  # a handler of its own: serve_forever adds none
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    received = [0]
    lock = threading.Lock()
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmwMT")

    class Handler(FTPHandler):
        def on_file_received(self, file: str) -> None:
            with lock:
                received[0] += os.path.getsize(file)

        def process_command(self, cmd: str, *arguments: Any, **options: Any) -> None:
            if delay:
                time.sleep(delay)
            super().process_command(cmd, *arguments, **options)

    Handler.authorizer = authorizer
    server = ThreadedFTPServer(("127.0.0.1", 0), Handler)
    server.max_cons = 0
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.address[1], received
    finally:
        server.close_all()


def _run(*command: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "SITEGEN_FTP_PASSWORD": PASSWORD},
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def lftp_mirror(port: int, local: Path, remote: str) -> None:
    lftp = shutil.which("lftp")
    if lftp is None:
        raise SystemExit("lftp is not installed (apt-get install lftp)")
    _run(
        lftp,
        "-u",
        f"{USER},{PASSWORD}",
        "-p",
        str(port),
        "-e",
        f"set ftp:ssl-allow no; set net:max-retries 1; mirror -R --delete {local}/ {remote}; quit",
        "127.0.0.1",
    )


def bytes_part(work: Path) -> None:
    project = work / "project"
    shutil.rmtree(work, ignore_errors=True)
    for folder in ("sites", "content", "themes"):
        shutil.copytree(ROOT / folder, project / folder)
    home = work / "ftp"
    (home / "sitegen").mkdir(parents=True)
    (home / "lftp").mkdir()
    site = "trailhead"
    rows = []
    with ftp_server(home) as (port, received):
        site_yaml = project / "sites" / site / "site.yaml"
        site_yaml.write_text(
            site_yaml.read_text() + "targets:\n  bench:\n    url: "
            f"ftp://{USER}@127.0.0.1:{port}/sitegen\n"
        )
        page = project / "content/guides/hiking/first-day-hike.md"  # not overridden

        def both(label: str, build: list[str], fresh: bool = False) -> None:
            if fresh:
                shutil.rmtree(project / "build")
            _run(SITEGEN, "--root", str(project), "build", site, "--quiet", *build)
            before = received[0]
            out = _run(
                SITEGEN, "--root", str(project), "deploy", site, "--target", "bench", "--yes"
            )
            sent = int(out.split(" bytes sent")[0].rsplit(" ", 1)[1]) if "bytes sent" in out else 0
            ours = received[0] - before
            before = received[0]
            lftp_mirror(port, project / "build" / site, "/lftp")
            theirs = received[0] - before
            same = (
                _tree(project / "build" / site)
                == _tree(home / "lftp")
                == {
                    k: v
                    for k, v in _tree(home / "sitegen").items()
                    if not k.startswith(".sitegen-state/")
                }
            )
            rows.append((label, sent, ours, theirs, same))

        both("first deploy", [])
        both("unchanged site", [])
        text = page.read_text()
        page.write_text(text + "\nEdited for the benchmark.\n")
        both("one-page edit, incremental build", [])
        page.write_text(text + "\nEdited for the benchmark, twice.\n")
        both("one-page edit, clean rebuild", ["--clean"])
        page.write_text(text + "\nEdited for the benchmark, three times.\n")
        both("one-page edit, fresh clone's build", [], fresh=True)
    print(f"\nsite {site} of the demo network; bytes received by the FTP server")
    print(
        f"| {'scenario':<34} | sitegen content | sitegen total | lftp mirror -R | "
        "total / lftp | trees equal |"
    )
    print(
        f"|{'-' * 36}|-----------------|---------------|----------------|"
        "--------------|-------------|"
    )
    for label, sent, ours, theirs, same in rows:
        ratio = f"{ours / theirs:.3f}" if theirs else "-"
        print(
            f"| {label:<34} | {sent:>15} | {ours:>13} | {theirs:>14} | {ratio:>12} | "
            f"{'yes' if same else 'NO':>11} |"
        )


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def pool_part(work: Path, files: int, delay: float, sizes: tuple[int, ...]) -> None:
    from generator.config.settings import Target
    from generator.deploy.bookkeeping import Origin
    from generator.deploy.publish import deploy

    shutil.rmtree(work, ignore_errors=True)
    build = work / "build"
    entries = {}
    for number in range(files):
        path = f"files/{number // 100:02d}/f{number:05d}.html"
        data = f"<p>small file {number}</p>\n".encode() * 40
        (build / "bench" / path).parent.mkdir(parents=True, exist_ok=True)
        (build / "bench" / path).write_bytes(data)
        entries[path] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "kind": "data",
        }
    manifest = {
        "site": "bench",
        "version": hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest(),
        "files": entries,
    }
    private = build / ".sitegen" / "sites" / "bench"
    private.mkdir(parents=True)
    (private / "manifest.json").write_text(json.dumps(manifest))
    os.environ["SITEGEN_FTP_PASSWORD"] = PASSWORD
    results = {}
    home = work / "ftp"
    home.mkdir()
    with ftp_server(home, delay) as (port, _):
        for size in sizes:
            (home / f"pool{size}").mkdir()
            target = Target(
                "bench", "ftp", USER, "127.0.0.1", port, f"/pool{size}", connections=size
            )
            started = time.perf_counter()
            report = deploy("bench", target, build, {}, Origin("bench", ""))
            results[size] = time.perf_counter() - started
            assert report.uploaded == files, report
            print(f"  {size} connection(s): {results[size]:.1f} s", file=sys.stderr)
    print(f"\n{files} files of {len(data)} bytes, {delay * 1000:.0f} ms added per FTP round trip")
    print("| connections | seconds | speed-up vs 1 |")
    print("|---|---|---|")
    for size, seconds in results.items():
        print(f"| {size} | {seconds:.1f} | {results[sizes[0]] / seconds:.2f}× |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("bytes", "pool", "both"), default="both")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4, 8])
    arguments = parser.parse_args()
    work = ROOT / "bench" / "work" / "deploy"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as folder:
        if arguments.part in ("bytes", "both"):
            bytes_part(Path(folder) / "bytes")
        if arguments.part in ("pool", "both"):
            pool_part(
                Path(folder) / "pool",
                arguments.files,
                arguments.delay_ms / 1000,
                tuple(arguments.connections),
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
