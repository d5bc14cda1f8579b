"""`sitegen serve` in a subprocess for tests: its address, and the events its pages get."""

from __future__ import annotations

import http.client
import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STARTED = re.compile(r"serving (\S+) at (http://127\.0\.0\.1:\d+/)")


@dataclass
class Served:
    base: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    """What the command printed so far (read by a thread)."""


@contextmanager
def serving(root: Path, *arguments: str, timeout: float = 120) -> Iterator[Served]:
    """Run `sitegen serve` on a free port until the block ends (then Ctrl-C, as an author
    stops it)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generator.cli",
            "--root",
            str(root),
            "serve",
            "--port",
            "0",
            *arguments,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    base = None
    try:
        while base is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("serve did not start:\n" + "".join(output)) from None
            match = STARTED.search(line)
            if match:
                base = match.group(2)
            elif process.poll() is not None and lines.empty():
                raise AssertionError("serve exited:\n" + "".join(output))
        yield Served(base.rstrip("/"), process, output)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class EventStream:
    """The server-sent events a page of `base` receives, read by a thread."""

    def __init__(self, base: str) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        address = urllib.parse.urlsplit(base)
        self._connection = http.client.HTTPConnection(address.netloc, timeout=120)
        self._connection.request("GET", "/_sitegen/events")
        self._response = self._connection.getresponse()
        assert self._response.status == 200
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event = ""
        try:
            for raw in self._response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: "):
                    self.events.put((event, json.loads(line[len("data: ") :])))
        except (OSError, ValueError):
            return

    def next(self, timeout: float = 60) -> tuple[str, Any]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s") from None

    def close(self) -> None:
        # Shut the socket down first: closing the response waits for the reading thread,
        # which waits for the next message.
        if self._connection.sock is not None:
            self._connection.sock.shutdown(socket.SHUT_RDWR)
        self._connection.close()


def get(url: str, cookie: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *arguments: Any) -> None:
        return None
