"""`sitegen deploy`: plan the local build against what the target serves, then run the plan.

What the target keeps besides the site is described in bookkeeping.py; how a plan is
carried out, in run.py.
"""

from __future__ import annotations

import json
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.config.settings import Target
from generator.deploy.bookkeeping import (
    Cancelled,
    Origin,
    finish_dead_run,
    recorded_failures,
    stored_objects,
)
from generator.deploy.connection import connect
from generator.deploy.execute import Executor
from generator.deploy.meta import page_links
from generator.deploy.plan import DeployPlan, plan_deploy
from generator.deploy.remote import Remote
from generator.deploy.run import DeployReport, Job, RunOptions, execute
from generator.deploy.state import read_manifest
from generator.errors import DeployError
from generator.layout import BuildLayout
from generator.manifest import Manifest


@dataclass(frozen=True)
class DeployOptions(RunOptions):
    max_bytes: int | None = None
    """Refuse a plan that uploads more (`--max-bytes`)."""
    expected_plan: str | None = None
    """Refuse unless the plan's digest is this one (`--plan`, from a reviewed dry run)."""


def local_manifest(build_dir: Path, site: str) -> Manifest:
    path = BuildLayout(build_dir).manifest(site)
    try:
        result = Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise DeployError(
            f"no build of site '{site}' in {build_dir}: run sitegen build first"
        ) from None
    return result


def deploy(
    site: str,
    target: Target,
    build_dir: Path,
    meta: dict[str, Any],
    origin: Origin,
    options: DeployOptions = DeployOptions(),
    *,
    confirm: Callable[[DeployPlan], bool] = lambda plan: True,
    show: Callable[[DeployPlan], None] = lambda plan: None,
) -> DeployReport:
    """Publish the local build of `site`; `meta` goes into the remote manifest."""
    local = local_manifest(build_dir, site)
    if local.preview:
        raise DeployError(
            f"{build_dir} holds a preview build of '{site}' (a variant switcher "
            "on every page, noindex everywhere): it is never published; "
            "deploy a build made without --preview"
        )
    passwords = password_file(build_dir, site, target)
    with recorded_failures(origin, site, target, "deploy", local.version, options.dry_run):
        control = Remote(connect(target), target)
        try:
            current = read_manifest(control)
            stored = stored_objects(control) if target.keep else set()
            plan = plan_deploy(
                site, target.name, local, current, stored, links_of=page_links(build_dir / site)
            )
            show(plan)
            if options.expected_plan is not None and options.expected_plan != plan.digest:
                raise DeployError(
                    f"the plan is now {plan.digest}, not "
                    f"{options.expected_plan}: the build or the server "
                    "changed since; look at the new plan"
                )
            stale = passwords is not None and _remote_bytes(control, target.htpasswd) != passwords
            if options.dry_run:
                if stale:
                    origin.notes.append(f"password file: would upload {target.htpasswd}")
                return DeployReport(plan)
            if not plan.operations:
                if stale and passwords is not None:
                    _put_password_file(control, target, passwords, origin)
                finish_dead_run(control, target, plan, origin, options.break_lock)
                return DeployReport(plan)
            if options.max_bytes is not None and plan.bytes > options.max_bytes:
                raise DeployError(
                    f"the plan uploads {plan.bytes} bytes, more than "
                    f"--max-bytes {options.max_bytes}; nothing was changed"
                )
            if not confirm(plan):
                raise Cancelled("deploy cancelled; nothing was changed")
            if stale and passwords is not None:
                # First: a protected folder's new rules never name a file not there yet.
                _put_password_file(control, target, passwords, origin)
            manifest = local.with_meta(**meta, deployed=time.time(), commit=origin.commit)
            executor = Executor(build_dir / site, target.keep > 0, stored, target.atomic_replace)
            return execute(control, Job(target, plan, manifest, current), executor, origin, options)
        finally:
            control.close()


def password_file(build_dir: Path, site: str, target: Target) -> bytes | None:
    """The site's password file for its protected pages (None: it has none); a site with
    one needs a target that says where it goes."""
    path = BuildLayout(build_dir).htpasswd(site)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if not target.htpasswd:
        raise DeployError(
            f"site '{site}' has protected pages, and target '{target.name}' does not say "
            "where their password file goes: set its htpasswd (a remote path outside the web "
            "root, which the server reads as auth.user_file); nothing was changed",
            target.location,
        )
    return data


def _remote_bytes(control: Remote, path: str) -> bytes | None:
    return control.get(path) if control.size(path) is not None else None


def _put_password_file(control: Remote, target: Target, data: bytes, origin: Origin) -> None:
    """Upload the password file outside the web root (where the rules read it). A rollback
    leaves it as the latest deploy made it: who may log in is today's users.yaml."""
    control.makedirs(posixpath.dirname(target.htpasswd) or "/")
    control.write_bytes(target.htpasswd, data)
    origin.notes.append(f"password file: uploaded {target.htpasswd} ({len(data)} bytes)")
    origin.recorded["password_file"] = target.htpasswd
