"""The build side of `sitegen serve`: the first build, a rebuild after every change the
watcher reports, and what open pages are told.

Rebuilds run in this process (no interpreter start, no imports: a one-page edit is the
build's own incremental work) and in one worker: a rebuild renders what changed, and
forking workers while the server's threads run is not safe. The build commits a site only
when it succeeded, so a failed rebuild leaves the last good output in place, which stays
served while pages show the error.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from generator.errors import SitegenError
from generator.hosting.routing import Route, routes_of_document
from generator.layout import BuildLayout
from generator.pipeline.build import build
from generator.pipeline.noop import Shortcut, check_shortcut
from generator.pipeline.options import BuildOptions, BuildReport
from generator.pipeline.shortcut import INPUT_FOLDERS
from generator.serve.rules_api import RulesApi
from generator.serve.server import Preview, Served
from generator.users import USERS_FILE

STYLESHEETS = frozenset({".css", ".scss", ".sass"})
WATCH_STEP_MS = 30
"""The watcher yields once no change came for this long (editors write a file in bursts)."""
WAKE_MS = 200
"""The watcher also yields (nothing) after this long without a change: the first such
yield says it is running."""


@dataclass(frozen=True, slots=True)
class ServeOptions:
    root: Path
    build_dir: Path
    site: str
    environment: str = "production"
    drafts: bool = False


class Session:
    """One served site: its builds and what the server shows of them."""

    def __init__(self, options: ServeOptions, say: Callable[[str], None] = print) -> None:
        self.options = options
        self.say = say
        self.layout = BuildLayout(options.build_dir)
        api = RulesApi(options.root, options.environment, options.site, self.layout)
        self.preview = Preview(Served(self.layout.published(options.site)), api)

    def build_options(self, jobs: int) -> BuildOptions:
        return BuildOptions(
            root=self.options.root,
            build_dir=self.options.build_dir,
            environment=self.options.environment,
            sites=(self.options.site,),
            drafts=self.options.drafts,
            jobs=jobs,
            quiet=True,
            preview=True,
        )

    def first_build(self) -> None:
        """The build before serving (in worker processes: no server thread runs yet). An
        error here is the command's error: there is nothing good to serve."""
        options = self.build_options(jobs=0)
        shortcut = check_shortcut(options)
        if shortcut.report is not None and not self.layout.routes(self.options.site).exists():
            shortcut = replace(shortcut, report=None)  # built by a sitegen without routes.json
        report = self._build(options, shortcut)
        self.say(_summary(report))
        self.preview.served = Served(self.preview.served.folder, self._routes())

    def rebuild(self, paths: Iterable[Path]) -> None:
        """Build again after `changed` and tell open pages: `reload`, `css` (only stylesheets
        changed), `failed` (with the message) or `fixed` (an error gone, nothing to reload)."""
        changed = sorted(paths)
        shown = ", ".join(_display(self.options.root, path) for path in changed[:3])
        shown += f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        shown = f"{shown} changed" if changed else "sources changed during the first build"
        served = self.preview.served
        try:
            report = self._build(self.build_options(jobs=1))
        except SitegenError as error:
            message = error.report()
        except Exception:  # a bug in sitegen: shown like an error, the server keeps serving
            message = "sitegen failed unexpectedly:\n" + traceback.format_exc()
        else:
            self.preview.served = Served(served.folder, self._routes())
            written = any(site.committed for site in report.sites)
            if written or changed:
                self.say(f"{shown}: {_summary(report)}")
            if written:
                styles = bool(changed) and all(path.suffix in STYLESHEETS for path in changed)
                self.preview.events.publish("css" if styles else "reload", {})
            elif served.error is not None:
                self.preview.events.publish("fixed", {})
            return
        self.say(f"{shown}: build failed, still serving the last good build\n{message}")
        self.preview.served = Served(served.folder, served.routes, message)
        self.preview.events.publish("failed", {"message": message})

    def watched(self) -> list[Path]:
        root = self.options.root
        paths = [root / name for name in INPUT_FOLDERS] + [root / USERS_FILE]
        return [path for path in paths if path.exists()]

    def watch(self, stop: threading.Event, ready: Callable[[], None] = lambda: None) -> None:
        """Rebuild after every burst of changes until `stop` is set; `ready` is called once
        the watcher runs (after a build that catches what changed before it did)."""
        from watchfiles import watch

        # Its Ctrl-C notice is a warning; stopping is what Ctrl-C is for.
        logging.getLogger("watchfiles.main").setLevel(logging.ERROR)
        started = False
        for changes in watch(
            *self.watched(),
            stop_event=stop,
            step=WATCH_STEP_MS,
            rust_timeout=WAKE_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            if changes or not started:
                self.rebuild({Path(path) for _, path in changes})
            if not started:
                started = True
                ready()

    def _build(self, options: BuildOptions, shortcut: Shortcut | None = None) -> BuildReport:
        # As `sitegen build`: no cyclic collection during the build (it frees almost nothing).
        gc.disable()
        try:
            return build(options, shortcut)
        finally:
            gc.enable()

    def _routes(self) -> tuple[Route, ...]:
        path = self.layout.routes(self.options.site)
        try:
            return routes_of_document(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return ()


def _summary(report: BuildReport) -> str:
    site = report.sites[0] if report.sites else None
    if site is None:
        return f"nothing built ({report.seconds:.2f}s)"
    state = "written" if site.committed else "unchanged"
    return (
        f"{site.rendered} rendered, {site.unchanged} unchanged ({state}) in {report.seconds:.2f}s"
    )


def _display(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
