"""The HTTP side of `sitegen serve`: the built files (variants picked by the routing model the
`.htaccess` is written from), the live-reload client and the event stream it listens to.

Only GET and HEAD; bound to the loopback interface by the caller. Every response says
`Cache-Control: no-store`: an author must see the build they just made.
"""

from __future__ import annotations

import json
import mimetypes
import re
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from generator.content.page import NOT_FOUND_URL
from generator.hosting.routing import REFUSED_PATHS, Route, choose
from generator.layout import safe_parts
from generator.serve.rules_api import RulesApi

PREFIX = "/_sitegen/"
LIVE_PATH = PREFIX + "live.js"
EVENTS_PATH = PREFIX + "events"
RULES_PATH = PREFIX + "rules"
RULES_SCRIPT = PREFIX + "rules.js"
RULES_STYLE = PREFIX + "rules.css"
API_PREFIX = PREFIX + "api/"
BUILDER_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
LIVE_TAG = f'<script src="{LIVE_PATH}" defer></script>'.encode()
KEEP_ALIVE_SECONDS = 15.0
TYPES = {".webp": "image/webp", ".avif": "image/avif", ".webmanifest": "application/manifest+json"}
TYPES |= {".woff2": "font/woff2", ".xml": "application/xml", ".js": "text/javascript"}
HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Served:
    """What requests read: replaced whole after every build, never changed in place."""

    folder: Path
    """build-preview/<site>/"""
    routes: tuple[Route, ...] = ()
    error: str | None = None
    """The last build's error (its output is not served: the last good one is)."""


class Events:
    """Messages to every open page (server-sent events), numbered; a page's stream waits
    for those after the last it sent."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._messages: list[tuple[int, str, str]] = []
        self._closed = False

    @property
    def last(self) -> int:
        with self._condition:
            return self._messages[-1][0] if self._messages else 0

    def publish(self, event: str, data: dict[str, object]) -> None:
        with self._condition:
            number = self._messages[-1][0] + 1 if self._messages else 1
            self._messages = [*self._messages[-50:], (number, event, json.dumps(data))]
            self._condition.notify_all()

    def wait(self, after: int, timeout: float) -> list[tuple[int, str, str]] | None:
        """Messages numbered after `after` (empty when `timeout` passed first), or None once
        the server is stopping."""
        with self._condition:
            self._condition.wait_for(
                lambda: self._closed or (self._messages and self._messages[-1][0] > after),
                timeout,
            )
            if self._closed:
                return None
            return [message for message in self._messages if message[0] > after]

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()


class Preview:
    """The state the server and the rebuilds share."""

    def __init__(self, served: Served, rules: RulesApi | None = None) -> None:
        self.served = served
        self.events = Events()
        self.rules = rules
        here = Path(__file__).parent
        self.files = {
            LIVE_PATH: ((here / "live.js").read_bytes(), "text/javascript"),
            RULES_SCRIPT: ((here / "rules.js").read_bytes(), "text/javascript"),
            RULES_STYLE: ((here / "rules.css").read_bytes(), "text/css"),
        }
        self.rules_page = (here / "rules.html").read_text(encoding="utf-8")


class Handler(BaseHTTPRequestHandler):
    preview: Preview
    server_version = "sitegen-serve"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        """Quiet: the terminal shows builds, not every request."""

    def do_GET(self) -> None:  # noqa: N802 (the base class's name)
        self._respond(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(body=False)

    def do_POST(self) -> None:  # noqa: N802
        path = unquote(urlsplit(self.path).path)
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(min(length, 1 << 20))
        if not self._from_loopback() or not path.startswith(API_PREFIX):
            self._send(HTTPStatus.FORBIDDEN, b"forbidden\n", "text/plain", True)
            return
        rules = self.preview.rules
        origin = self.headers.get("Origin")
        if (
            rules is None
            or self.headers.get("X-Sitegen-Token") != rules.token
            or (origin is not None and origin != self._own_origin())
        ):
            self._json(HTTPStatus.FORBIDDEN, {"error": "this write needs the page's session token"})
            return
        self._json(*rules.handle("POST", path[len(API_PREFIX) :], data))

    def _own_origin(self) -> str:
        return "http://" + (self.headers.get("Host") or "")

    def _from_loopback(self) -> bool:
        """The request names this server by a loopback name (a page of another site that
        resolves its own name to 127.0.0.1 sends its own Host: refused)."""
        host = (self.headers.get("Host") or "").rpartition(":")[0]
        return host in LOOPBACK_HOSTS or host == "[::1]"

    def _respond(self, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path.startswith(PREFIX) and not self._from_loopback():
            self._send(HTTPStatus.FORBIDDEN, b"forbidden\n", "text/plain", body)
        elif path == EVENTS_PATH and body:
            self._stream()
        elif path in self.preview.files:
            data, kind = self.preview.files[path]
            self._send(HTTPStatus.OK, data, kind, body)
        elif path == RULES_PATH and self.preview.rules is not None:
            page = self.preview.rules_page.replace("{{token}}", self.preview.rules.token)
            self._send(HTTPStatus.OK, page.encode(), "text/html", body, policy=True)
        elif path.startswith(API_PREFIX) and self.preview.rules is not None:
            self._json(*self.preview.rules.handle("GET", path[len(API_PREFIX) :], b""))
        else:
            self._file(path, body)

    def _json(self, status: HTTPStatus, document: object) -> None:
        self._send(status, json.dumps(document).encode(), "application/json", True)

    def _file(self, path: str, body: bool) -> None:
        served = self.preview.served
        found = _resolve(served, path, self.headers.get("Cookie", ""))
        if isinstance(found, str):  # a folder asked for without its slash, as mod_dir does
            query = urlsplit(self.path).query
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", found + ("?" + query if query else ""))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = HTTPStatus.OK
        if found is None:
            status = HTTPStatus.NOT_FOUND
            found = served.folder / NOT_FOUND_URL.lstrip("/")
            if not found.is_file():
                self._send(status, b"not found\n", "text/plain", body)
                return
        data = found.read_bytes()
        kind = TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0]
        kind = kind or "application/octet-stream"
        if kind == "text/html":
            data = _with_live_tag(data)
        routed = any(route.url == path for route in served.routes)
        self._send(status, data, kind, body, vary=routed)

    def _send(
        self,
        status: HTTPStatus,
        data: bytes,
        kind: str,
        body: bool,
        vary: bool = False,
        policy: bool = False,
    ) -> None:
        self.send_response(status)
        if policy:
            self.send_header("Content-Security-Policy", BUILDER_POLICY)
            self.send_header("X-Content-Type-Options", "nosniff")
        charset = "; charset=utf-8" if kind.startswith("text/") or kind.endswith("xml") else ""
        self.send_header("Content-Type", kind + charset)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if vary:
            self.send_header("Vary", "Cookie")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _stream(self) -> None:
        """The event stream: the current error at once, then every message until the page
        goes away or the server stops."""
        events = self.preview.events
        after = events.last
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        try:
            self.wfile.write(b"retry: 500\n\n")
            error = self.preview.served.error
            if error is not None:
                self.wfile.write(_event("failed", json.dumps({"message": error})))
            self.wfile.flush()
            while True:
                messages = events.wait(after, KEEP_ALIVE_SECONDS)
                if messages is None:
                    return
                if not messages:
                    self.wfile.write(b": still here\n\n")
                for number, event, data in messages:
                    self.wfile.write(_event(event, data))
                    after = number
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return


def _event(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def _with_live_tag(page: bytes) -> bytes:
    """The page with the live-reload client, at the end of its head (external: the page's
    Content-Security-Policy allows same-origin scripts, not new inline ones)."""
    match = HEAD_END.search(page)
    if match is None:
        return page + LIVE_TAG
    return page[: match.start()] + LIVE_TAG + page[match.start() :]


def _resolve(served: Served, path: str, cookies: str) -> Path | str | None:
    """The file a request of `path` is served: a variant file when the routing model says
    so, a folder's index.html, the file itself; a str is where a folder without its slash
    is redirected; None is not found (also for what `.htaccess` refuses)."""
    if not path.startswith("/") or "\0" in path or re.search(REFUSED_PATHS, path):
        return None
    relative = path.strip("/")
    parts = safe_parts(relative) if relative else []
    if parts is None:
        return None
    target = served.folder.joinpath(*parts)
    if path.endswith("/") or not relative:
        variant = choose(served.routes, path, cookies)
        target = served.folder / variant if variant else target / "index.html"
    elif target.is_dir():
        return path + "/" if (target / "index.html").is_file() else None
    return target if target.is_file() else None


def make_server(preview: Preview, port: int) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:`port` (0: any free port), not yet serving."""
    handler = type("PreviewHandler", (Handler,), {"preview": preview})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server
