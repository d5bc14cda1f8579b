"""`sitegen build`: recover, shortcut, load, collect, plan, check freshness, render, commit.

Reads top to bottom like the pipeline in DESIGN.md. Nothing under build/<site>/ is touched
until every site has rendered without error.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from generator.analytics.store import upgrade as upgrade_events
from generator.assets import build_site_assets
from generator.cache import ContentCache
from generator.cache import configure as configure_cache
from generator.config import load_network
from generator.config.model import Network, SiteConfig
from generator.content import SourceReader, collect_site_content
from generator.content.index import SiteContent
from generator.errors import ConfigError, ContentError, suggest
from generator.experiments.alarms import sample_ratio_alarms
from generator.experiments.history import record as record_experiments
from generator.files import replace_text
from generator.hosting.protect import LOGIN
from generator.hosting.routing import routes_document
from generator.layout import BuildLayout
from generator.manifest import FileEntry
from generator.pipeline.checks import page_problems
from generator.pipeline.freshness import Fingerprints
from generator.pipeline.noop import Shortcut, check_shortcut, save_shortcut
from generator.pipeline.options import BuildOptions, BuildReport, SiteReport
from generator.pipeline.output import (
    commit_site,
    make_folders,
    new_staging_dir,
    write_manifest,
)
from generator.pipeline.plan import SitePlan, apply_rebuild_rules, plan_site
from generator.pipeline.renderers import template_globals
from generator.pipeline.search import search_files
from generator.pipeline.shortcut import (
    FileStat,
    PublishedTree,
    scan_published,
    tree_after_commit,
)
from generator.pipeline.site_state import SiteState
from generator.pipeline.stages import StageList
from generator.pipeline.state import BuildState, OutputRecord, encode_dependencies
from generator.pipeline.workers import RenderResult, SiteJob, render_all
from generator.progress import Progress
from generator.recommend.site import site_recommendations
from generator.render.deprecations import deprecated_calls
from generator.render.markdown import forget_rendered
from generator.render.templates import create_environment
from generator.runtime.lazy import render_components
from generator.users import LOGIN_USERS
from generator.users.access import Protected, login_users, site_access
from generator.users.load import load_users
from generator.users.model import Users


@dataclass(eq=False)
class SiteWork:
    """What one site's build must do, decided before anything renders."""

    plan: SitePlan
    previous: dict[str, OutputRecord]
    """The build state's records of the site's published files."""
    stale: list[int]
    """Indexes into `plan.outputs` of the outputs to render."""
    leftovers: list[str]
    """Published files the plan no longer has."""


def build(options: BuildOptions, shortcut: Shortcut | None = None) -> BuildReport:
    """Build the network; `shortcut` is what `check_shortcut` found, if the caller has
    already asked (the CLI does, before importing this module)."""
    started = time.perf_counter()
    layout = BuildLayout(options.build_dir)
    # The caller's shortcut check took time before `started`; one made here, after it.
    earlier = shortcut.seconds if shortcut is not None else 0.0
    if shortcut is None:
        shortcut = check_shortcut(options)
    if shortcut.report is not None:
        return shortcut.report
    # Load: every site's config, resolved and validated, themes and pools.
    network = load_network(options.root, options.environment)
    users = load_users(network)
    with closing(BuildState(layout.state)) as store:
        run = STAGES.run(
            BuildRun(
                options,
                layout,
                network,
                users,
                tuple(select_sites(network, options.sites)),
                store,
                SourceReader(network.root, store),
                ContentCache(layout.cache, time.time_ns()),
                shortcut.scans,
            )
        )
    save_shortcut(options, shortcut.inputs, run.report, run.published)
    run.report.seconds = time.perf_counter() - started + earlier
    return run.report


@dataclass(frozen=True)
class BuildRun:
    """What the stages of a build hand on: each stage returns a copy with its results."""

    options: BuildOptions
    layout: BuildLayout
    network: Network
    users: Users
    """The network's people, roles and grants (users.yaml)."""
    sites: tuple[SiteConfig, ...]
    store: BuildState
    reader: SourceReader
    cache: ContentCache
    """The build cache, stamped with this build's start."""
    scans: Mapping[str, PublishedTree]
    """The published trees, scanned once by the shortcut."""
    states: Mapping[str, SiteState] = field(default_factory=dict)
    deferred: tuple[Callable[[], None], ...] = ()
    """Writes of computed lists to their caches, done only once the build succeeded."""
    plans: Mapping[str, SitePlan] = field(default_factory=dict)
    work: Mapping[str, SiteWork] = field(default_factory=dict)
    alarms: tuple[str, ...] = ()
    """Warnings about experiments (sample-ratio mismatches), printed by every build."""
    notices: tuple[str, ...] = ()
    """What this build did once (a store migrated), for the report."""
    report: BuildReport = field(default_factory=BuildReport)
    published: Mapping[str, PublishedTree] = field(default_factory=dict)


def stores(run: BuildRun) -> BuildRun:
    """An events store an older sitegen wrote is migrated, after a copy, before anything
    reads it; the build says so (once: the next one finds it migrated)."""
    notice = upgrade_events(run.layout.events_of(run.options.environment))
    return replace(run, notices=(*run.notices, notice)) if notice else run


def collect(run: BuildRun) -> BuildRun:
    """Each site's pages through its gates, its CSS, JS and images."""
    configure_cache(run.cache)
    forget_rendered()  # every entry this build uses is then touched on disk (gc)
    return replace(
        run,
        states={
            site.name: SiteState(
                run.network,
                site,
                collect_site_content(site, run.network, run.reader, run.options.drafts),
                build_site_assets(site, run.network),
                create_environment(site, run.network),
                run.options.preview,
            )
            for site in run.sites
        },
    )


def deprecations(run: BuildRun) -> BuildRun:
    """Every use of something deprecated (config keys, front-matter keys, template
    functions): warnings, or with `--strict` one error that lists them all."""
    uses = list(run.network.deprecations)
    for state in run.states.values():
        for page in state.pages_by_key.values():
            uses.extend(page.source.deprecations)
        uses.extend(deprecated_calls(state.environment))
    uses = list(dict.fromkeys(uses))
    if run.options.strict and uses:
        raise ConfigError(
            f"{len(uses)} use(s) of deprecated names, errors with --strict (or "
            "SITEGEN_DEPRECATIONS=error); `sitegen migrate` rewrites config keys:\n"
            + "\n".join(uses)
        )
    return replace(run, notices=(*run.notices, *uses))


def protect(run: BuildRun) -> BuildRun:
    """Who may read each protected page (users.yaml), and each site's password file,
    written once the build succeeded; with `auth.sso: form`, the login site's page and its
    password file too."""
    deferred: list[Callable[[], None]] = []
    states = {}
    for name, state in run.states.items():
        auth = state.site.auth
        pages = [
            Protected(page.url, page.access or (), page.access_location)
            for page in state.content.protected
        ]
        login_site = auth.sso == "form" and auth.login_site == name
        private = run.layout.htpasswd(name)
        logins = private.with_name(LOGIN_USERS)
        if not pages and not login_site:
            deferred.append(partial(private.unlink, missing_ok=True))
            deferred.append(partial(logins.unlink, missing_ok=True))
            states[name] = state
            continue
        if pages and not auth.user_file:
            first = state.content.protected[0]
            raise ConfigError(
                f"page {first.url} of site '{name}' is protected (from here), but the site has "
                "no auth.user_file: set it to the server path of the password file (outside "
                "the web root) in sites/<site>/site.yaml",
                first.access_location,
            )
        access = site_access(run.users, name, run.network.environment, pages)
        if auth.sso == "form":
            access = replace(access, login_url=_login_url(run.network, state))
            if login_site:
                origins = tuple(_origin(site.base_url) for site in run.network.buildable_sites())
                text = login_users(run.users, run.network.environment)
                access = replace(access, login_origins=origins, login_users=text)
                deferred.append(partial(_write_private, logins, text))
        deferred.append(partial(_write_private, private, access.htpasswd))
        states[name] = replace(state, access=access)
        run = replace(run, notices=(*run.notices, *access.notes))
    return replace(run, states=states, deferred=(*run.deferred, *deferred))


def _login_url(network: Network, state: SiteState) -> str:
    """The network's login page; every site's host must be under the cookie's domain."""
    auth = state.site.auth
    where = state.site.location_of(("auth", "login_site"))
    login = network.sites.get(auth.login_site)
    if login is None or login.abstract:
        known = [site.name for site in network.buildable_sites()]
        raise ConfigError(
            f"auth.login_site: no buildable site '{auth.login_site}'"
            + suggest(auth.login_site, known),
            where,
        )
    for site in (state.site, login):
        host = urlsplit(site.base_url).hostname or ""
        if not (host == auth.cookie_domain or host.endswith("." + auth.cookie_domain)):
            raise ConfigError(
                f"auth.cookie_domain: site '{site.name}' is served at {host or 'no host'} "
                f"(base_url), not under {auth.cookie_domain}: its visitors would never get "
                "the network's session cookie",
                state.site.location_of(("auth", "cookie_domain")) or where,
            )
    return login.base_url + LOGIN


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_text(path, text)


def recommend(run: BuildRun) -> BuildRun:
    """Related and next pages from content and the events store."""
    deferred: list[Callable[[], None]] = []
    states = {
        name: replace(
            state,
            recommendations=site_recommendations(
                state.site,
                state.content,
                run.layout,
                _recommendation_sources(
                    run.network, state, run.states, run.reader, run.options.drafts
                ),
                deferred,
                fresh=run.options.clean,
            ),
        )
        for name, state in run.states.items()
    }
    return replace(run, states=states, deferred=(*run.deferred, *deferred))


def experiments(run: BuildRun) -> BuildRun:
    """Alarms about running experiments (their data is in the events store)."""
    deferred: list[Callable[[], None]] = []
    alarms = tuple(
        alarm
        for state in run.states.values()
        for alarm in sample_ratio_alarms(state.site, run.layout, deferred)
    )
    return replace(run, alarms=alarms, deferred=(*run.deferred, *deferred))


def components(run: BuildRun) -> BuildRun:
    """Lazy components: rendered once per site, before the pages that place them."""
    return replace(
        run,
        states={
            name: replace(
                state, components=render_components(state.environment, template_globals(state))
            )
            for name, state in run.states.items()
        },
    )


def plan(run: BuildRun) -> BuildRun:
    """Every output file of every site, with the inputs of each."""
    return replace(
        run,
        plans={
            name: apply_rebuild_rules(
                plan_site(
                    state.site,
                    state.content,
                    state.assets,
                    state.components,
                    state.preview,
                    state.access,
                    search_files(state.site, state.content, run.cache)
                    if state.site.search_enabled
                    else None,
                ),
                run.network.root,
            )
            for name, state in run.states.items()
        },
    )


def freshness(run: BuildRun) -> BuildRun:
    """Which published files are exactly what rendering them now would give."""
    work = {
        name: _decide(
            run.options,
            site_plan,
            run.states[name],
            run.store,
            run.scans[name].files
            if name in run.scans
            else scan_published(run.options.build_dir / name).files,
        )
        for name, site_plan in run.plans.items()
    }
    report = BuildReport(
        sites=[_site_report(name, work[name]) for name in run.plans],
        warnings=(
            *run.notices,
            *run.network.warnings,
            *run.alarms,
        ),
    )
    return replace(run, work=work, report=report)


def render(run: BuildRun) -> BuildRun:
    """Stale outputs into staging trees, then each changed site into build/<site>/."""
    return replace(
        run,
        published=_render_and_commit(
            run.options, run.states, run.work, run.store, run.report, run.scans
        ),
    )


def retire(run: BuildRun) -> BuildRun:
    """A site that is no longer built (renamed, deleted, made abstract) leaves."""
    if not run.options.sites:
        _retire_sites(run.options.build_dir, set(run.plans), run.store)
    return run


def checks(run: BuildRun) -> BuildRun:
    """Broken links and missing images in pages: errors (one message listing them all) or
    warnings, as each site's `checks:` says; a shared page's problem is named once, with
    the sites it concerns."""
    errors: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    for name, site_plan in run.plans.items():
        found, noted = page_problems(run.states[name], site_plan)
        for problem in found:
            errors.setdefault(problem, []).append(name)
        for problem in noted:
            warnings.setdefault(problem, []).append(name)

    def listed(problems: dict[str, list[str]]) -> list[str]:
        return [f"{problem} [{', '.join(sites)}]" for problem, sites in problems.items()]

    if errors:
        raise ContentError(
            f"{len(errors)} broken link(s) or missing image(s) (site.yaml `checks:` can make "
            "them warnings):\n" + "\n".join(listed(errors))
        )
    return replace(run, notices=(*run.notices, *listed(warnings)))


def remember(run: BuildRun) -> BuildRun:
    """Parsed front matter and computed lists are saved only once the build succeeded: a
    failed build writes nothing at all."""
    run.reader.save()
    for write in run.deferred:
        write()
    for name, plan in run.plans.items():
        document = routes_document(plan.routes)
        replace_text(run.layout.routes(name), json.dumps(document, indent=1) + "\n")
    for state in run.states.values():
        experiments = [e for e in state.site.personalization.experiments if e.status != "draft"]
        if experiments:
            # The weights each build version split visitors by, for the statistics.
            record_experiments(
                run.layout.experiments(state.site.name),
                state.build_version,
                experiments,
                time.time(),
            )
    if not run.options.sites:
        # What a build of the whole network did not touch, no build needs: `cache gc`.
        run.cache.mark_build()
    return run


STAGES = StageList[BuildRun](
    [
        ("stores", stores),
        ("collect", collect),
        ("deprecations", deprecations),
        ("protect", protect),
        ("recommend", recommend),
        ("experiments", experiments),
        ("components", components),
        ("plan", plan),
        ("checks", checks),
        ("freshness", freshness),
        ("render", render),
        ("retire", retire),
        ("remember", remember),
    ]
)
"""The build after loading, in order; a stage can be inserted before or after a named one
(`STAGES.insert_after("plan", "audit", audit)`)."""


def _recommendation_sources(
    network: Network,
    state: SiteState,
    states: Mapping[str, SiteState],
    reader: SourceReader,
    drafts: bool,
) -> dict[str, tuple[SiteConfig, SiteContent]]:
    """The sites a site may recommend pages of, with their content (collected here when they
    are not part of this build)."""
    sources = {}
    for position, name in enumerate(state.site.recommendations.sources):
        source = network.sites.get(name)
        if source is None or source.abstract or name == state.site.name:
            known = [
                site.name for site in network.buildable_sites() if site.name != state.site.name
            ]
            raise ConfigError(
                f"recommendations.sources: '{name}' is not another buildable "
                "site of the network" + suggest(name, known),
                state.site.location_of(("recommendations", "sources", position)),
            )
        content = (
            states[name].content
            if name in states
            else collect_site_content(source, network, reader, drafts)
        )
        sources[name] = (source, content)
    return sources


def select_sites(network: Network, names: tuple[str, ...]) -> list[SiteConfig]:
    buildable = network.buildable_sites()
    if not names:
        return buildable
    known = {site.name: site for site in buildable}
    for name in names:
        if name in known:
            continue
        if name in network.sites:
            descendants = [site.name for site in buildable if name in site.lineage]
            raise ConfigError(
                f"site '{name}' is abstract (it holds what other sites share and is never "
                "built by itself); "
                + (
                    f"its buildable descendants: {', '.join(descendants)}"
                    if descendants
                    else "no buildable site extends it"
                )
            )
        raise ConfigError(f"no buildable site '{name}'" + suggest(name, list(known)))
    return [known[name] for name in sorted(set(names))]


# --- freshness ------------------------------------------------------------------------------


def _decide(
    options: BuildOptions,
    plan: SitePlan,
    state: SiteState,
    store: BuildState,
    scan: dict[str, FileStat],
) -> SiteWork:
    """Which outputs to render: those the last build did not make from the same data, whose
    published file was deleted or altered since, or whose recorded dependencies changed."""
    previous = store.outputs(plan.site.name)
    known = {} if options.clean else previous
    stale = []
    kept: list[tuple[int, str]] = []
    """Outputs whose published file is intact, with their encoded dependencies."""
    for index, output in enumerate(plan.outputs):
        record = known.get(output.path)
        if (
            record is None
            or record.data_key != output.data_key
            or scan.get(output.path) != (record.mtime_ns, record.size)
        ):
            stale.append(index)
        else:
            kept.append((index, record.dependencies))
    broken = Fingerprints(state).broken([dependencies for _, dependencies in kept])
    stale.extend(index for (index, _), changed in zip(kept, broken, strict=True) if changed)
    stale.sort()
    planned = {output.path for output in plan.outputs}
    return SiteWork(plan, previous, stale, sorted(set(scan) - planned))


def _site_report(name: str, work: SiteWork) -> SiteReport:
    outputs = work.plan.outputs
    return SiteReport(
        name,
        pages=sum(1 for output in outputs if output.kind == "page"),
        assets=sum(1 for output in outputs if output.kind == "asset"),
        variants=sum(1 for output in outputs if output.kind == "variant"),
        rendered=len(work.stale),
        unchanged=len(outputs) - len(work.stale),
    )


# --- render and commit ----------------------------------------------------------------------

MOVE_ORDER = {"asset": 0, "data": 1, "variant": 2, "page": 3, "routing": 4}
"""Assets go in first, so a page never appears before the stylesheet it links to; variants
before the default pages and routing rules last, so no rule points at a missing file."""


def _render_and_commit(
    options: BuildOptions,
    states: Mapping[str, SiteState],
    work: Mapping[str, SiteWork],
    store: BuildState,
    report: BuildReport,
    scans: Mapping[str, PublishedTree],
) -> dict[str, PublishedTree]:
    """Render every stale output, commit each changed site; return the published trees."""
    changed = {
        name: site_work
        for name, site_work in work.items()
        if site_work.stale
        or site_work.leftovers
        or set(site_work.previous) != {o.path for o in site_work.plan.outputs}
    }
    jobs = {
        name: SiteJob(
            states[name],
            site_work.plan,
            new_staging_dir(options.build_dir, name),
            Fingerprints(states[name]),
        )
        for name, site_work in changed.items()
    }
    tasks = [(name, index) for name, site_work in changed.items() for index in site_work.stale]
    for name, site_work in changed.items():
        outputs = site_work.plan.outputs
        make_folders(jobs[name].staging, [outputs[index].path for index in site_work.stale])
    processes = options.jobs or os.cpu_count() or 1
    progress = Progress("rendering", len(tasks), quiet=options.quiet)
    results: dict[str, list[RenderResult]] = {name: [] for name in jobs}
    try:
        for result in render_all(jobs, tasks, processes, progress.advance):
            results[result.site].append(result)
    except BaseException:
        for job in jobs.values():
            shutil.rmtree(job.staging, ignore_errors=True)
        raise
    finally:
        progress.close()

    published = {}
    by_name = {site.name: site for site in report.sites}
    for name in sorted(work):
        site_dir = options.build_dir / name
        if name in jobs:
            version, records = _commit(
                options, name, work[name], jobs[name].staging, results[name], store
            )
            by_name[name].version = version
            by_name[name].committed = True
            # After the commit, what is published is exactly what the records say.
            published[name] = tree_after_commit(
                site_dir, {path: (record.mtime_ns, record.size) for path, record in records.items()}
            )
        else:
            by_name[name].version = _current_version(options.build_dir, name)
            published[name] = scans.get(name) or scan_published(site_dir)
    return published


def _commit(
    options: BuildOptions,
    name: str,
    work: SiteWork,
    staging: Path,
    results: list[RenderResult],
    store: BuildState,
) -> tuple[str, dict[str, OutputRecord]]:
    """Move the site's new files in, then write its manifest and build state; return the
    version and the records of everything now published."""
    site_dir = options.build_dir / name
    planned = {output.path for output in work.plan.outputs}
    records = {path: record for path, record in work.previous.items() if path in planned}
    updated = []
    moves = []
    for result in results:
        output = work.plan.outputs[result.index]
        written = result.written
        old = work.previous.get(output.path)
        mtime = written.mtime_ns
        if old is not None and old.sha256 == written.sha256 and _is_intact(old, site_dir):
            mtime = old.mtime_ns  # same bytes: leave the published file as it is
        else:
            moves.append(output)
        record = OutputRecord(
            output.path,
            output.kind,
            output.data_key,
            written.sha256,
            written.size,
            mtime,
            encode_dependencies(result.dependencies),
        )
        records[output.path] = record
        updated.append(record)
    moves.sort(key=lambda output: (MOVE_ORDER.get(output.kind, 3), output.path))
    commit_site(options.build_dir, name, staging, [output.path for output in moves], work.leftovers)
    version = write_manifest(
        options.build_dir,
        name,
        {path: FileEntry(r.sha256, r.size, r.kind) for path, r in records.items()},
        options.preview,
    )
    store.update_site(name, updated, sorted(set(work.previous) - planned))
    return version, records


def _retire_sites(build_dir: Path, current: set[str], store: BuildState) -> None:
    """Remove the published tree and state of sites an earlier build made and this network no
    longer builds. Only trees sitegen itself recorded are touched. Their version snapshots
    stay, so an earlier version can still be looked up."""
    for manifest in BuildLayout(build_dir).manifests():
        name = manifest.parent.name
        if name in current:
            continue
        shutil.rmtree(build_dir / name, ignore_errors=True)
        manifest.unlink()
        store.forget_site(name)


def _is_intact(record: OutputRecord, site_dir: Path) -> bool:
    try:
        stat = os.stat(os.path.join(site_dir, record.path))
    except OSError:
        return False
    return stat.st_size == record.size and stat.st_mtime_ns == record.mtime_ns


def _current_version(build_dir: Path, site: str) -> str:
    path = BuildLayout(build_dir).manifest(site)
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return ""
