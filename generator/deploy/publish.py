"""`sitegen deploy`: plan the local build against what the target serves, then run the plan.

What the target keeps besides the site is described in bookkeeping.py; how a plan is
carried out, in run.py.
"""

from __future__ import annotations

import json
import os
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
from generator.users import LOGIN_USERS, PASSPHRASE


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
    private = password_files(build_dir, site, target, local)
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
            stale = {
                path: data for path, data in private.items() if _remote_bytes(control, path) != data
            }
            if options.dry_run:
                for path in sorted(stale):
                    origin.notes.append(f"password file: would upload {path}")
                return DeployReport(plan)
            if not plan.operations:
                if stale:
                    _put_private_files(control, stale, origin)
                finish_dead_run(control, target, plan, origin, options.break_lock)
                return DeployReport(plan)
            if options.max_bytes is not None and plan.bytes > options.max_bytes:
                raise DeployError(
                    f"the plan uploads {plan.bytes} bytes, more than "
                    f"--max-bytes {options.max_bytes}; nothing was changed"
                )
            if not confirm(plan):
                raise Cancelled("deploy cancelled; nothing was changed")
            if stale:
                _put_private_files(control, stale, origin)
            manifest = local.with_meta(**meta, deployed=time.time(), commit=origin.commit)
            executor = Executor(build_dir / site, target.keep > 0, stored, target.atomic_replace)
            return execute(control, Job(target, plan, manifest, current), executor, origin, options)
        finally:
            control.close()


def password_files(build_dir: Path, site: str, target: Target, local: Manifest) -> dict[str, bytes]:
    """What protected pages need on the server, outside the web root, by remote path: the
    site's password file; with a login session (`auth.sso: form`), the session passphrase
    (from $SITEGEN_SESSION_PASSPHRASE, never from a file of the repository) and, on the
    login site, the login page's password file. None of them for a site without."""
    layout = BuildLayout(build_dir)
    private = layout.htpasswd(site)
    try:
        data = private.read_bytes()
    except FileNotFoundError:
        return {}
    if not target.htpasswd:
        raise DeployError(
            f"site '{site}' has protected pages, and target '{target.name}' does not say "
            "where their password file goes: set its htpasswd (a remote path outside the web "
            "root, which the server reads as auth.user_file); nothing was changed",
            target.location,
        )
    files = {target.htpasswd: data}
    folder = posixpath.dirname(target.htpasswd)
    logins = private.with_name(LOGIN_USERS)
    if logins.is_file():
        files[posixpath.join(folder, LOGIN_USERS)] = logins.read_bytes()
    if _uses_sessions(build_dir / site, local):
        passphrase = os.environ.get("SITEGEN_SESSION_PASSPHRASE", "")
        if len(passphrase) < 32:
            raise DeployError(
                f"site '{site}' logs visitors in with a session (auth.sso: form): set "
                "SITEGEN_SESSION_PASSPHRASE to a secret of at least 32 characters, the same "
                "for every site of the network (e.g. `openssl rand -hex 32`); nothing was "
                "changed",
                target.location,
            )
        files[posixpath.join(folder, PASSPHRASE)] = passphrase.encode() + b"\n"
    return files


def _uses_sessions(site_dir: Path, manifest: Manifest) -> bool:
    return any(
        b"SessionCryptoPassphrase" in (site_dir / path).read_bytes()
        for path in manifest.files
        if path.endswith(".htaccess") and path != ".htaccess"
    )


def _remote_bytes(control: Remote, path: str) -> bytes | None:
    return control.get(path) if control.size(path) is not None else None


def _put_private_files(control: Remote, files: dict[str, bytes], origin: Origin) -> None:
    """Upload what protected pages need outside the web root (before the pages, so their
    rules never name a file not there yet). A rollback leaves them as the latest deploy
    made them: who may log in is today's users.yaml."""
    for path, data in sorted(files.items()):
        control.makedirs(posixpath.dirname(path) or "/")
        control.write_bytes(path, data)
        shown = "the session passphrase" if path.endswith(PASSPHRASE) else f"{len(data)} bytes"
        origin.notes.append(f"password file: uploaded {path} ({shown})")
    origin.recorded["password_files"] = sorted(files)
