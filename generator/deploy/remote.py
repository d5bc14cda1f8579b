"""Connections to a target: one `Remote` per ftputil host, and a pool of them.

A `Remote` speaks the few commands a deploy needs on the host's own control connection
(STOR, RETR, SIZE, RNFR/RNTO, DELE): ftputil's file objects would open a second connection
per host for every transfer, and the pool must know how many connections it holds.

The pool runs operations in parallel, one connection per worker thread. It learns the
server's connection limit from 421 replies and stays under it, retries transient errors
(4xx replies, dropped connections, timeouts) with back-off on a fresh connection, and never
retries a permanent one (5xx, such as 552 quota exceeded): that fails the run, naming the file.
"""

from __future__ import annotations

import ftplib
import io
import json
import posixpath
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import ftputil.error

from generator.deploy.connection import Target, credentials, hide, open_host
from generator.errors import DeployError

T = TypeVar("T")


class Remote:
    """The web root and the state folder of a target, through one connection."""

    def __init__(self, host: Any, target: Target) -> None:
        self.host = host
        self.target = target
        self.root = target.root.rstrip("/") or "/"
        self.state = target.state_dir
        self.rename_over = True
        """Whether the server renames over an existing file (probed once per deploy)."""
        self._size_command = True
        self._binary = False
        """Whether the connection is in binary mode (TYPE I), which SIZE needs."""
        # Nothing here reads timestamps (contents are compared by sha256); say so, so that
        # ftputil does not warn about the server's time zone.
        host.set_time_shift(0.0)

    @property
    def session(self) -> Any:
        """The ftplib connection under the ftputil host (ftputil has no public name for it)."""
        return self.host._session

    def path(self, relative: str) -> str:
        """The remote path of a file of the site; never outside the web root."""
        parts = relative.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise DeployError(f"remote path '{relative}' would leave the web root")
        return posixpath.join(self.root, relative)

    def state_path(self, *names: str) -> str:
        return posixpath.join(self.state, *names)

    def size(self, path: str) -> int | None:
        """The size of a remote file, None if there is none (SIZE, else a listing)."""
        if self._size_command:
            try:
                if not self._binary:
                    self.session.voidcmd("TYPE I")   # SIZE is refused in ASCII mode
                    self._binary = True
                return int(self.session.size(path))
            except ftplib.error_perm as error:
                if not str(error).startswith(("500", "502", "504")):
                    return None   # 550: no such file
                self._size_command = False   # the server has no SIZE: list instead
        self.host.stat_cache.invalidate(path)
        self._binary = False   # listings switch to ASCII
        try:
            return int(self.host.stat(path).st_size) if self.host.path.isfile(path) else None
        except ftputil.error.PermanentError:
            return None

    def put(self, path: str, data: bytes) -> None:
        self.session.storbinary(f"STOR {path}", io.BytesIO(data))
        self._binary = True

    def get(self, path: str) -> bytes:
        chunks: list[bytes] = []
        self.session.retrbinary(f"RETR {path}", chunks.append)
        self._binary = True
        return b"".join(chunks)

    def rename(self, source: str, destination: str) -> None:
        self.session.rename(source, destination)
        self.host.stat_cache.invalidate(source)
        self.host.stat_cache.invalidate(destination)

    def remove(self, path: str) -> None:
        self.session.delete(path)
        self.host.stat_cache.invalidate(path)

    def makedirs(self, path: str) -> None:
        self._binary = False
        self.host.makedirs(path, exist_ok=True)

    def listdir(self, path: str) -> list[str]:
        """Names in a remote folder ([] if there is none), by NLST: a listing of the parent
        would not do, as many servers hide dot folders such as the state folder."""
        self._binary = False
        try:
            names = self.session.nlst(path)
        except ftplib.error_perm:
            return []
        return [name for name in (posixpath.basename(item.rstrip("/")) for item in names)
                if name not in ("", ".", "..")]

    def replace(self, temporary: str, destination: str) -> None:
        """Rename `temporary` over `destination`; where the server refuses to rename over an
        existing file, remove the old one first."""
        if not self.rename_over and self.size(destination) is not None:
            self.remove(destination)
        self.rename(temporary, destination)

    def write_bytes(self, destination: str, data: bytes) -> None:
        """Upload under a temporary name, check its size, then rename over the destination."""
        temporary = f"{destination}.sitegen.tmp"
        self.put(temporary, data)
        if self.size(temporary) != len(data):
            raise DeployError(f"{destination}: the server did not keep all {len(data)} bytes")
        self.replace(temporary, destination)

    def read_json(self, name: str) -> Any:
        """A JSON file of the state folder, None if there is none."""
        path = self.state_path(name)
        if self.size(path) is None:
            return None
        try:
            return json.loads(self.get(path))
        except ValueError:
            raise DeployError(f"{path} on the server is not valid JSON; move it away or "
                              "restore it") from None

    def write_json(self, name: str, value: Any) -> None:
        data = (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()
        self.write_bytes(self.state_path(name), data)

    def append(self, path: str, data: bytes) -> None:
        """Append to a remote file (APPE), creating it if need be."""
        self.session.storbinary(f"APPE {path}", io.BytesIO(data))
        self._binary = True

    def append_journal(self, entry: dict[str, Any]) -> None:
        """Append to the JSONL journal (the journal is never rewritten)."""
        self.append(self.state_path("journal.jsonl"),
                    (json.dumps(entry, sort_keys=True) + "\n").encode())

    def remove_state(self, name: str) -> None:
        path = self.state_path(name)
        if self.size(path) is not None:
            self.remove(path)

    def probe_rename_over(self) -> None:
        """Find out whether the server renames over an existing file."""
        first, second = self.state_path("probe-a.tmp"), self.state_path("probe-b.tmp")
        self.put(first, b"a")
        self.put(second, b"b")
        try:
            self.rename(first, second)
            self.rename_over = True
        except ftplib.error_perm:
            self.rename_over = False
            self.remove(first)
        self.remove(second)

    def alive(self) -> bool:
        """Whether the connection still answers (NOOP)."""
        try:
            self.session.voidcmd("NOOP")
            return True
        except Exception:  # noqa: BLE001 - a dropped connection
            return False

    def close(self) -> None:
        try:
            self.host.close()
        except Exception:  # noqa: BLE001 - closing a dead connection is not an error
            pass


class TooManyConnections(Exception):
    """The server refused a connection with 421."""


def is_permanent(error: BaseException) -> bool:
    """5xx replies (and our own errors) are permanent: retrying cannot help."""
    if isinstance(error, DeployError):
        return True
    if isinstance(error, ftplib.error_perm | ftputil.error.PermanentError):
        return True
    return isinstance(error, ftplib.error_reply)


def is_transient(error: BaseException) -> bool:
    """4xx replies, dropped connections, timeouts: worth another try on a new connection."""
    return isinstance(error, ftplib.error_temp | ftputil.error.TemporaryError
                      | ftputil.error.FTPOSError | OSError | EOFError | ftplib.error_proto)


@dataclass
class Failure:
    """Why a run stopped: the item it was working on and the error, password hidden."""

    item: Any
    message: str


class Pool:
    """Up to `target.connections` connections at once, fewer if the server says so."""

    def __init__(self, target: Target, first: Remote | None = None,
                 opener: Callable[[Target], Any] = open_host) -> None:
        self.target = target
        self.limit = target.connections
        """What the server is believed to allow; lowered on every 421."""
        self.opener = opener
        self.idle: list[Remote] = [first] if first is not None else []
        self.open_count = len(self.idle)
        self.lock = threading.Lock()
        self.notes: list[str] = []
        """What the pool learned (limits, retries), for the report."""
        self.retries = 0
        self.rename_over = first.rename_over if first is not None else True
        self._password = credentials(target)[1]

    def _take(self) -> Remote:
        """An idle connection, or a new one if under the limit; 421 lowers the limit."""
        with self.lock:
            if self.idle:
                return self.idle.pop()
            self.open_count += 1
        try:
            host = self.opener(self.target)
        except BaseException as error:
            with self.lock:
                self.open_count -= 1
                if _is_421(error) and self.open_count > 0:
                    if self.open_count < self.limit:
                        self.limit = self.open_count
                        self.notes.append(f"the server allows {self.limit} connection(s); "
                                          "using no more")
                    raise TooManyConnections() from None
            raise
        remote = Remote(host, self.target)
        remote.rename_over = self.rename_over
        return remote

    def _give_back(self, remote: Remote | None, broken: bool) -> None:
        if remote is None:
            return
        if broken:
            remote.close()
            with self.lock:
                self.open_count -= 1
        else:
            with self.lock:
                self.idle.append(remote)

    def run(self, items: Iterable[T], work: Callable[[Remote, T, int], None],
            done: Callable[[Remote, T], None] = lambda remote, item: None) -> Failure | None:
        """Do `work(remote, item, attempt)` for every item, in parallel; `done` after each
        success (under the pool's lock). The first permanent error (or transient error past
        the retries) stops the run: workers finish what they hold and take nothing new."""
        queue = list(items)
        queue.reverse()
        failures: list[Failure] = []
        fatal: list[BaseException] = []

        def worker() -> None:
            remote: Remote | None = None
            try:
                while True:
                    with self.lock:
                        if not queue or failures or fatal:
                            return
                        item = queue.pop()
                    # `_attempts` owns the connection until it returns it (or None).
                    held, remote = remote, None
                    try:
                        remote = self._attempts(held, item, work, failures)
                    except TooManyConnections:
                        with self.lock:
                            queue.append(item)   # for a worker that has a connection
                        return
                    if remote is not None:
                        with self.lock:
                            done(remote, item)
            except BaseException as error:  # a kill: stop everything, as a real kill would
                with self.lock:
                    fatal.append(error)
            finally:
                self._give_back(remote, broken=bool(fatal))

        count = max(1, min(self.limit, len(queue)))
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if fatal:
            raise fatal[0]
        if not failures and queue:
            # Every worker gave up its place to a 421: finish on one connection.
            return self.run(reversed(queue), work, done)
        return failures[0] if failures else None

    def _attempts(self, remote: Remote | None, item: T, work: Callable[[Remote, T, int], None],
                  failures: list[Failure]) -> Remote | None:
        """Work on one item until it succeeds, fails for good, or runs out of retries."""
        attempt = 0
        while True:
            try:
                if remote is None:
                    remote = self._take()
                work(remote, item, attempt)
                return remote
            except TooManyConnections:
                raise   # nothing is held: `_take` found no room
            except BaseException as error:
                if not isinstance(error, Exception):   # a kill: close what is held, go
                    self._give_back(remote, broken=True)
                    raise
                if not is_permanent(error) and is_transient(error) \
                        and attempt < self.target.retries:
                    self._give_back(remote, broken=True)
                    remote = None
                    attempt += 1
                    with self.lock:
                        self.retries += 1
                    time.sleep(min(8.0, 0.25 * 2 ** attempt) * (0.5 + random.random()))
                    continue
                message = hide(str(error), self._password)
                if isinstance(error, DeployError):
                    message = error.message
                with self.lock:
                    failures.append(Failure(item, message or type(error).__name__))
                self._give_back(remote, broken=not is_permanent(error))
                return None

    def close(self) -> None:
        for remote in self.idle:
            remote.close()
        self.idle.clear()


def _is_421(error: BaseException) -> bool:
    return "421" in str(error)[:16]
