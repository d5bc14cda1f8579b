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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import ftputil.error

from generator.config.settings import Target
from generator.deploy.connection import (
    connect,
    credentials,
    hide,
    is_connection_cap,
    open_host,
    server_reply,
)
from generator.errors import DeployError
from generator.layout import safe_parts

T = TypeVar("T")


REMOTE_ERRORS = (ftplib.Error, ftputil.error.FTPError, OSError, EOFError)
"""What talking to a server can raise: replies (ftplib, ftputil), sockets, TLS, a closed
connection. `Remote` turns each into a `RemoteError`."""

REFUSED = ("not allowed", "denied", "not permitted", "ascii")
"""Words of a 550 reply to SIZE that mean "refused" rather than "no such file" (which
servers word in many ways: "No such file", "is not retrievable", "Could not get file
size")."""


class RemoteError(DeployError):
    """A command the server refused or a connection that broke: what was being done, on
    which remote path, and what the server (or the network) answered."""

    def __init__(self, action: str, path: str, reply: str, transient: bool) -> None:
        super().__init__(f"{action} {path}: {reply}")
        self.action = action
        self.path = path
        self.reply = reply
        self.transient = transient
        """Worth another try on a new connection (a 4xx reply, a dropped connection)."""


def is_transient_error(error: BaseException) -> bool:
    """4xx replies, dropped connections, timeouts, TLS failures mid-stream, vsftpd's
    `500 OOPS`: transient; other 5xx replies: permanent."""
    if isinstance(error, RemoteError):
        return error.transient
    if isinstance(error, DeployError):
        return False
    if isinstance(error, ftplib.error_temp | ftputil.error.TemporaryError):
        return True
    if isinstance(error, ftplib.error_perm | ftputil.error.PermanentError):
        # vsftpd's "500 OOPS: ..." is its session dying (a passive port it could not bind,
        # a TLS failure), not a refusal: a new connection usually works.
        return "500 OOPS" in str(error)
    return isinstance(error, REMOTE_ERRORS)


class Remote:
    """The web root and the state folder of a target, through one connection."""

    def __init__(self, host: Any, target: Target) -> None:
        self.host = host
        self.target = target
        self.root = target.root.rstrip("/") or "/"
        self.state = target.state_dir
        self.rename_over = True
        """Whether the server renames over an existing file (probed once per deploy)."""
        self.can_append = True
        """Whether APPE onto an existing file works (proftpd refuses it by default)."""
        self._size_command = True
        self._password = credentials(target)[1]
        # Nothing here reads timestamps (contents are compared by sha256); say so, so that
        # ftputil does not warn about the server's time zone.
        host.set_time_shift(0.0)

    @property
    def session(self) -> Any:
        """The ftplib connection under the ftputil host (ftputil has no public name for it)."""
        return self.host._session

    @contextmanager
    def doing(self, action: str, path: str) -> Iterator[None]:
        """Turn any error of the server or the connection into a `RemoteError` naming the
        action and the remote path."""
        try:
            yield
        except DeployError:
            raise
        except REMOTE_ERRORS as error:
            raise RemoteError(
                action, path, hide(server_reply(error), self._password), is_transient_error(error)
            ) from None

    def path(self, relative: str) -> str:
        """The remote path of a file of the site; never outside the web root."""
        if safe_parts(relative) is None or any(character in relative for character in "\r\n\0"):
            raise DeployError(
                f"remote path {relative!r} would leave the web root or break an FTP command"
            )
        return posixpath.join(self.root, relative)

    def state_path(self, *names: str) -> str:
        return posixpath.join(self.state, *names)

    def _binary(self) -> None:
        """Switch to binary mode (TYPE I) unless the connection is in it: SIZE is refused in
        ASCII mode by some servers, and listings leave the connection in ASCII mode."""
        if getattr(self.session, "transfer_type", "A") != "I":
            self.session.voidcmd("TYPE I")

    def size(self, path: str) -> int | None:
        """The size of a remote file, None if there is none (SIZE, else a listing). A SIZE
        refused for another reason than a missing file is asked again by a listing."""
        with self.doing("size of", path):
            if self._size_command:
                try:
                    self._binary()
                    return int(self.session.size(path))
                except ftplib.error_perm as error:
                    reply = str(error)
                    if reply.startswith(("500", "502", "504")):
                        self._size_command = False  # the server has no SIZE: list instead
                    elif not any(words in reply.lower() for words in REFUSED):
                        return None
                    # else refused, not missing: a listing tells
            return self._listed_size(path)

    def _listed_size(self, path: str) -> int | None:
        self.host.stat_cache.invalidate(path)
        try:
            return int(self.host.stat(path).st_size) if self.host.path.isfile(path) else None
        except ftputil.error.PermanentError:
            return None

    def put(self, path: str, data: bytes) -> None:
        """STOR. Not tried again here: the deploy's pool retries uploads and counts the
        retries in the journal."""
        with self.doing("upload", path):
            self.session.storbinary(f"STOR {path}", io.BytesIO(data))

    def get(self, path: str) -> bytes:
        """The file's bytes."""

        def fetch() -> bytes:
            chunks: list[bytes] = []
            with self.doing("download", path):
                self.session.retrbinary(f"RETR {path}", chunks.append)
            return b"".join(chunks)

        return self.once_more(fetch)

    def once_more(self, transfer: Callable[[], T]) -> T:
        """A transfer that can be repeated (a download, a listing) and breaks
        transiently is tried once more on a new connection: the old one may still owe the
        server's reply to the broken transfer. vsftpd as Debian ships it drops a TLS data
        channel now and then, or fails to bind its passive port (`500 OOPS:
        vsf_sysutil_bind`), and the client then reads its plain-text reply as TLS."""
        for attempt in (1, 2):
            try:
                return transfer()
            except RemoteError as error:
                if attempt == 2 or not error.transient:
                    raise
                self.reconnect()
        raise AssertionError("unreachable")

    def reconnect(self) -> None:
        """Replace the connection (state such as the lock is the server's, not the
        connection's)."""
        try:
            self.host.close()
        except Exception:  # noqa: BLE001 - already broken
            pass
        with self.doing("reconnect to", self.target.host):
            self.host = connect(self.target)

    def rename(self, source: str, destination: str) -> None:
        with self.doing("rename", f"{source} to {destination}"):
            self.session.rename(source, destination)
        self.host.stat_cache.invalidate(source)
        self.host.stat_cache.invalidate(destination)

    def remove(self, path: str) -> None:
        with self.doing("delete", path):
            self.session.delete(path)
        self.host.stat_cache.invalidate(path)

    def make_folder(self, path: str) -> bool:
        """MKD: True if this call created the folder, False if it was there already. MKD
        fails when the folder exists on every server: that makes it a lock."""
        try:
            with self.doing("create folder", path):
                self.session.mkd(path)
            return True
        except RemoteError as error:
            if error.transient or self.size(path) is not None or not self._is_folder(path):
                raise
            return False

    def _is_folder(self, path: str) -> bool:
        """By changing into it (and back): listings of many servers hide dot folders."""
        with self.doing("change to folder", path):
            here = self.session.pwd()
            try:
                self.session.cwd(path)
            except ftplib.error_perm:
                return False
            self.session.cwd(here)
            return True

    def remove_folder(self, path: str) -> None:
        with self.doing("remove folder", path):
            self.session.rmd(path)

    def makedirs(self, path: str) -> None:
        """Create a folder and its parents where missing. Another run creating the same
        folder at the same moment is not an error."""
        for attempt in range(3):
            try:
                with self.doing("create folder", path):
                    self.host.makedirs(path, exist_ok=True)
                return
            except RemoteError as error:
                self.host.stat_cache.clear()
                if error.transient or attempt == 2:
                    raise
                if self._is_folder(path):
                    return

    def listdir(self, path: str) -> list[str]:
        """Names in a remote folder ([] if there is none), by NLST: a listing of the parent
        would not do, as many servers hide dot folders such as the state folder. A missing
        folder is a 550 on most servers, a 450 on proftpd."""

        def listing() -> list[str]:
            with self.doing("list", path):
                try:
                    return list(self.session.nlst(path))
                except (ftplib.error_perm, ftplib.error_temp) as error:
                    if str(error).startswith(("550", "450")):
                        return []
                    raise

        return [
            name
            for name in (posixpath.basename(item.rstrip("/")) for item in self.once_more(listing))
            if name not in ("", ".", "..")
        ]

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
        size = self.size(temporary)
        if size != len(data):
            raise RemoteError(
                "upload", temporary, f"the server kept {size} of {len(data)} bytes", transient=True
            )
        self.replace(temporary, destination)

    def read_json(self, name: str) -> Any:
        """A JSON file of the state folder, None if there is none."""
        path = self.state_path(name)
        if self.size(path) is None:
            return None
        try:
            return json.loads(self.get(path))
        except ValueError:
            raise DeployError(
                f"{path} on the server is not valid JSON; move it away or restore it"
            ) from None

    def write_json(self, name: str, value: Any) -> None:
        data = (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()
        self.write_bytes(self.state_path(name), data)

    def append_line(self, path: str, line: bytes) -> None:
        """Add a line to a remote file, creating it if need be. The line is sent after a
        line break, so that it starts a line of its own even after a line a killed run cut
        short (readers skip empty and damaged lines). APPE where the server takes it;
        servers that refuse to append to a file (proftpd's `AllowStoreRestart off`, its
        default) get the whole file rewritten under a temporary name and renamed over."""
        data = b"\n" + line.rstrip(b"\n")
        if self.can_append:
            try:
                with self.doing("append to", path):
                    self.session.storbinary(f"APPE {path}", io.BytesIO(data))
                return
            except RemoteError as error:
                if not error.reply.startswith(("450", "451", "502", "504", "550", "553")):
                    raise
                self.can_append = False  # refused: rewrite instead, from now on
        before = self.get(path) if self.size(path) is not None else b""
        self.write_bytes(path, before + data)

    def append_journal(self, entry: dict[str, Any]) -> None:
        """Add an entry to the JSONL journal (entries are never rewritten)."""
        self.append_line(
            self.state_path("journal.jsonl"), json.dumps(entry, sort_keys=True).encode()
        )

    def remove_state(self, name: str) -> None:
        path = self.state_path(name)
        if self.size(path) is not None:
            self.remove(path)

    def probe_rename_over(self, name: str) -> None:
        """Find out whether the server renames over an existing file (and renames at all).
        `name` keeps the probe's files apart from a concurrent run's."""
        first, second = (
            self.state_path(f"probe-{name}-a.tmp"),
            self.state_path(f"probe-{name}-b.tmp"),
        )
        self.put(first, b"a")
        self.put(second, b"b")
        try:
            self.rename(first, second)
            self.rename_over = True
        except RemoteError as error:
            if error.transient:
                raise
            self.rename_over = False
            third = self.state_path(f"probe-{name}-c.tmp")
            try:
                self.rename(first, third)
            except RemoteError as refused:
                if refused.transient:
                    raise
                self.remove(first)
                self.remove(second)
                raise DeployError(
                    f"the server refuses to rename files ({refused.reply}); "
                    "sitegen uploads every file under a temporary name and "
                    "renames it into place, so that no visitor sees a half "
                    "file: it cannot publish there"
                ) from None
            self.remove(third)
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
    """The server refused a connection for having too many (421, or proftpd's 530)."""


@dataclass
class Failure:
    """Why a run stopped: the item it was working on and the error, password hidden."""

    item: Any
    message: str


class Pool:
    """Up to `target.connections` connections at once, fewer if the server says so."""

    def __init__(
        self,
        target: Target,
        first: Remote | None = None,
        opener: Callable[[Target], Any] = open_host,
    ) -> None:
        self.target = target
        self.limit = target.connections
        """What the server is believed to allow; lowered on every 421."""
        self.opener = opener
        self.first = first
        """The connection the pool was given: its owner closes it, not the pool."""
        self.idle: list[Remote] = [first] if first is not None else []
        self.open_count = len(self.idle)
        """Connections open or being opened."""
        self.connected = len(self.idle)
        """Connections open."""
        self.lock = threading.Lock()
        self.retries = 0
        self.rename_over = first.rename_over if first is not None else True
        self.can_append = first.can_append if first is not None else True
        self._password = credentials(target)[1]

    @property
    def notes(self) -> list[str]:
        """What the pool learned, for the report."""
        if self.limit >= self.target.connections:
            return []
        return [
            f"the server allows {self.limit} connection(s); using no more (set "
            f"targets.{self.target.name}.connections: {self.limit} to start there)"
        ]

    def _take(self) -> Remote:
        """An idle connection, or a new one; a refusal for too many connections while some
        are open lowers the limit to what is open."""
        with self.lock:
            if self.idle:
                return self.idle.pop()
            self.open_count += 1
        try:
            host = self.opener(self.target)
        except BaseException as error:
            with self.lock:
                self.open_count -= 1
                if is_connection_cap(error) and self.connected > 0:
                    self.limit = min(self.limit, self.connected)
                    raise TooManyConnections() from None
            raise
        with self.lock:
            self.connected += 1
            # Connections opened at the same moment as a refused one can still succeed.
            self.limit = max(self.limit, min(self.connected, self.target.connections))
        remote = Remote(host, self.target)
        remote.rename_over = self.rename_over
        remote.can_append = self.can_append
        return remote

    def _give_back(self, remote: Remote | None, broken: bool) -> None:
        if remote is None:
            return
        if broken:
            remote.close()
            with self.lock:
                self.open_count -= 1
                self.connected -= 1
        else:
            with self.lock:
                self.idle.append(remote)

    def run(
        self,
        items: Iterable[T],
        work: Callable[[Remote, T, int], None],
        done: Callable[[Remote, T], None] = lambda remote, item: None,
    ) -> Failure | None:
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
                            queue.append(item)  # for a worker that has a connection
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

    def _attempts(
        self,
        remote: Remote | None,
        item: T,
        work: Callable[[Remote, T, int], None],
        failures: list[Failure],
    ) -> Remote | None:
        """Work on one item until it succeeds, fails for good, or runs out of retries."""
        attempt = 0
        while True:
            try:
                if remote is None:
                    remote = self._take()
                work(remote, item, attempt)
                return remote
            except TooManyConnections:
                raise  # nothing is held: `_take` found no room
            except BaseException as error:
                if not isinstance(error, Exception):  # a kill: close what is held, go
                    self._give_back(remote, broken=True)
                    raise
                transient = is_transient_error(error)
                if transient and attempt < self.target.retries:
                    self._give_back(remote, broken=True)
                    remote = None
                    attempt += 1
                    with self.lock:
                        self.retries += 1
                    time.sleep(min(8.0, 0.25 * 2**attempt) * (0.5 + random.random()))
                    continue
                if isinstance(error, DeployError):
                    message = error.message
                else:  # the connection could not be opened
                    message = (
                        f"connect to {self.target.host}: "
                        f"{hide(server_reply(error), self._password)}"
                    )
                    if is_connection_cap(error):
                        message += f" (set targets.{self.target.name}.connections lower)"
                with self.lock:
                    failures.append(Failure(item, message))
                self._give_back(remote, broken=transient)
                return None

    def usable(self) -> Remote:
        """A connection that still answers, for one step between runs: the first one, an
        idle one, or a fresh one (idle afterwards, closed with the pool's own)."""
        # The first connection also waits in `idle` between runs: ask it once.
        others = [remote for remote in self.idle if remote is not self.first]
        for remote in ([self.first] if self.first is not None else []) + others:
            if remote.alive():
                return remote
        fresh = Remote(connect(self.target), self.target)
        learned = self.first or self  # what the first connection learned is newest
        fresh.rename_over = learned.rename_over
        fresh.can_append = learned.can_append
        with self.lock:
            self.idle.append(fresh)
        return fresh

    def close(self) -> None:
        """Close the connections the pool opened (not the one it was given)."""
        for remote in self.idle:
            if remote is not self.first:
                remote.close()
        self.idle.clear()
