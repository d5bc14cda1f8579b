"""The command line: parse, call one function per command, print.

Exit status: 0 success, 1 an error the user can fix (printed as `file:line: message`),
2 bad command-line usage.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from generator import __version__
from generator.errors import SitegenError
from generator.layout import BuildLayout

if TYPE_CHECKING:  # for annotations only: a command imports what it uses when it runs
    from typing import TypeAlias

    from generator.analytics.simulate import Lift
    from generator.config.model import Network, SiteConfig
    from generator.deploy.bookkeeping import Origin
    from generator.deploy.plan import DeployPlan
    from generator.users.model import Users

    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def _layout(arguments: argparse.Namespace, root: Path) -> BuildLayout:
    """The build folder --out names, else <root>/build, refused when a newer sitegen wrote
    it (the build records its format, `BuildLayout.claim`)."""
    return BuildLayout((arguments.out or root / "build").resolve()).checked()


class UsageError(Exception):
    """The command line asks for something that cannot be done: exit status 2, as argparse
    gives for arguments it cannot parse (errors in the project's files exit 1)."""


def _parents() -> dict[str, argparse.ArgumentParser]:
    """Arguments several commands share, each defined once (argparse parents)."""

    def parent() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)

    site, target, out, env = parent(), parent(), parent(), parent()
    site.add_argument("site", metavar="SITE", help="a site: a folder under sites/")
    target.add_argument(
        "--target", required=True, metavar="NAME", help="a name under targets: in the site's config"
    )
    out.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="build folder, holding .sitegen/ (default: <root>/build)",
    )
    env.add_argument(
        "--env",
        default="production",
        metavar="NAME",
        help="the environment overlay whose config applies (default: production)",
    )
    return {"site": site, "target": target, "out": out, "env": env}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sitegen", description="Build a network of static sites.")
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    parser.add_argument(
        "--root",
        type=Path,
        metavar="FOLDER",
        default=Path("."),
        help="project folder holding sites/, content/, themes/ (default: .)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = _parents()
    for add in SUBPARSERS:
        add(commands, shared)
    return parser


def _add_build(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen build`."""
    env = shared["env"]
    build = commands.add_parser("build", parents=[env], help="build sites into build/<site>/")
    build.add_argument("sites", nargs="*", metavar="SITE", help="only these sites")
    build.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="output folder (default: <root>/build)",
    )
    build.add_argument("--drafts", action="store_true", help="include draft pages")
    build.add_argument(
        "--clean", action="store_true", help="ignore the previous build and render everything"
    )
    build.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=0,
        metavar="N",
        help="worker processes (default: one per core)",
    )
    build.add_argument("--quiet", "-q", action="store_true", help="print only errors")
    build.add_argument(
        "--strict",
        action="store_true",
        help="every use of a deprecated key is an error, all listed (for CI; also "
        "SITEGEN_DEPRECATIONS=error)",
    )
    build.add_argument(
        "--preview",
        action="store_true",
        help="add a variant switcher to every page; writes to <root>/"
        "build-preview unless --out is given (never publish it)",
    )


def _add_serve(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen serve`."""
    serve = commands.add_parser(
        "serve",
        parents=[shared["env"]],
        help="build a site, serve it on 127.0.0.1 and rebuild and reload pages on every change",
    )
    serve.add_argument(
        "site",
        nargs="?",
        metavar="SITE",
        help="the site to serve (default: the first buildable site by name)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=8000,
        metavar="N",
        help="the port on 127.0.0.1 (default: 8000; 0 picks a free one)",
    )
    serve.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="build folder (default: <root>/build-preview; a preview build, never published)",
    )
    serve.add_argument("--drafts", action="store_true", help="include draft pages")


def _add_analytics(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen analytics ingest|simulate|export|db check`."""
    site, out = shared["site"], shared["out"]
    analytics = commands.add_parser("analytics", help="events from access logs and exports")
    analytics_commands = analytics.add_subparsers(
        dest="analytics_command", required=True, metavar="SUBCOMMAND"
    )
    database = analytics_commands.add_parser(
        "db", help="the events store itself: its queries' plans, indexes and statistics"
    )
    database_commands = database.add_subparsers(
        dest="db_command", required=True, metavar="SUBCOMMAND"
    )
    db_check = database_commands.add_parser(
        "check",
        parents=[out],
        help="explain every query sitegen runs on the store, flag full scans and sorts of "
        "large tables, recommend indexes by their measured effect, refresh statistics",
    )
    db_check.add_argument(
        "--apply",
        action="store_true",
        help="create the recommended indexes and switch the store to WAL",
    )
    export = analytics_commands.add_parser(
        "export",
        help="write the events store as Parquet, by site and day (for DuckDB, Spark, ...)",
    )
    export.add_argument("sites", nargs="*", metavar="SITE", help="only these sites' events")
    export.add_argument(
        "--format", choices=["parquet"], default="parquet", help="the file format (parquet)"
    )
    export.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="a new folder to write"
    )
    ingest = analytics_commands.add_parser(
        "ingest",
        parents=[site, out],
        help="read access logs (plain or .gz) and JSONL exports into the events store",
    )
    ingest.add_argument(
        "--access-log",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="Apache/nginx combined-format logs, rotated files in any order",
    )
    ingest.add_argument(
        "--jsonl",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="one JSON event per line: time, type, page, visitor, ...",
    )
    ingest.add_argument(
        "--from-target",
        metavar="NAME",
        help="also fetch the target's access logs over FTP/FTPS (only the bytes not ingested yet)",
    )
    ingest.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=0,
        metavar="N",
        help="worker processes reading the input (default: one per core)",
    )

    copy = analytics_commands.add_parser(
        "copy",
        help="copy one environment's events into another's store, sanitized (new visitor "
        "hashes, no e-mails, tokens or long numbers, query strings reduced)",
    )
    copy.add_argument("--from", dest="before", required=True, metavar="ENV", help="e.g. production")
    copy.add_argument("--to", dest="after", required=True, metavar="ENV", help="e.g. staging")
    copy.add_argument(
        "--rules",
        type=Path,
        metavar="FILE",
        help="YAML: query_allow, withdrawn (visitor ids), shift_days, sample",
    )
    copy.add_argument(
        "--dry-run", action="store_true", help="count what the rules would change, write nothing"
    )
    copy.add_argument(
        "--from-target",
        metavar="NAME",
        help="read the source from this target's access logs (over FTP/FTPS, whole) instead "
        "of the source environment's events store; needs --site",
    )
    copy.add_argument("--site", metavar="SITE", help="the site whose target's logs to read")
    copy.add_argument(
        "--allow-production",
        action="store_true",
        help="allow copying into production's store (refused by default)",
    )

    simulate = analytics_commands.add_parser(
        "simulate",
        parents=[site],
        help="write a realistic synthetic access log for a site (demo data)",
    )
    simulate.add_argument(
        "--output", type=Path, required=True, metavar="FILE", help="log file to write"
    )
    simulate.add_argument(
        "--visitors", type=int, default=400, metavar="N", help="visitors to simulate (default 400)"
    )
    simulate.add_argument(
        "--days", type=int, default=14, metavar="N", help="days the log spans (default 14)"
    )
    simulate.add_argument(
        "--seed",
        type=int,
        default=2026,
        metavar="N",
        help="random seed: the same seed writes the same log",
    )
    simulate.add_argument(
        "--lift",
        action="append",
        default=[],
        metavar="EXPERIMENT:ARM=RELATIVE",
        help="give an arm a true effect: its exposed visitors reach the experiment's goals "
        "1 + RELATIVE times as often (e.g. repair-cta:repair=0.2); repeatable",
    )
    simulate.add_argument(
        "--out", type=Path, metavar="FOLDER", help="the build folder (default: <root>/build)"
    )


def _add_deploy(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen deploy`."""
    site, target, out, env = shared["site"], shared["target"], shared["out"], shared["env"]
    deploy = commands.add_parser(
        "deploy",
        parents=[site, target, out, env],
        help="publish a built site to a target over FTP(S)",
    )
    deploy.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (every operation, its bytes, the totals); change nothing",
    )
    deploy.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    deploy.add_argument(
        "--max-bytes",
        type=int,
        default=None,
        metavar="BYTES",
        help="refuse a plan that uploads more than this",
    )
    deploy.add_argument(
        "--break-lock", action="store_true", help="take over the lock of a deploy that died"
    )
    deploy.add_argument(
        "--verify",
        choices=("size", "full"),
        default="size",
        help="size: check every upload's size on the server (always); full: "
        "also download and re-hash every uploaded file",
    )
    deploy.add_argument(
        "--plan",
        default=None,
        metavar="DIGEST",
        help="execute only if the plan is still the one a dry run printed",
    )
    deploy.add_argument(
        "--purge-list",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the URLs the deploy changed or deleted (for a CDN purge)",
    )


def _add_cache(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen cache stats|gc`."""
    out = shared["out"]
    cache = commands.add_parser("cache", help="the build cache shared by every site")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="SUBCOMMAND")
    for name, purpose in (
        ("stats", "what the cache holds, by kind"),
        ("gc", "remove what the last build did not use"),
    ):
        cache_commands.add_parser(name, parents=[out], help=purpose)


def _add_rollback(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen rollback`."""
    site, target, out, env = shared["site"], shared["target"], shared["out"], shared["env"]
    rollback = commands.add_parser(
        "rollback",
        parents=[site, target, out, env],
        help="put back a version kept on the server (no local build needed)",
    )
    rollback.add_argument(
        "--to",
        default=None,
        metavar="VERSION",
        help="the version id (or a prefix); default: the one before",
    )
    rollback.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and the dependency checks; change nothing",
    )
    rollback.add_argument(
        "--force", action="store_true", help="roll back even when the dependency checks object"
    )
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rollback.add_argument(
        "--break-lock", action="store_true", help="take over the lock of a deploy that died"
    )
    rollback.add_argument(
        "--verify",
        choices=("size", "full"),
        default="size",
        help="full: compare every file's sha256 afterwards, not its size",
    )


def _add_inspect(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen diff|journal|status`: what a target holds."""
    site, target, out = shared["site"], shared["target"], shared["out"]
    for name, purpose in (
        ("diff", "what a deploy would change, by kind of file"),
        ("journal", "the deploys and rollbacks a target has seen"),
        ("status", "the deployed version, and files changed on the server"),
    ):
        command = commands.add_parser(name, parents=[site, target, out], help=purpose)
        if name == "status":
            command.add_argument(
                "--full",
                action="store_true",
                help="compare contents (downloads every file), not sizes",
            )


def _add_recommend(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen recommend eval`."""
    out = shared["out"]
    recommend = commands.add_parser("recommend", help="recommendation models")
    recommend_commands = recommend.add_subparsers(
        dest="recommend_command", required=True, metavar="SUBCOMMAND"
    )
    evaluate = recommend_commands.add_parser(
        "eval", parents=[out], help="score next-page models (HitRate@k, MRR@k, coverage)"
    )
    evaluate.add_argument(
        "site",
        nargs="?",
        metavar="SITE",
        help="evaluate on this site's events store (time-ordered 80/20 split)",
    )
    evaluate.add_argument(
        "--train",
        type=Path,
        metavar="FILE",
        help="SessionId<TAB>ItemId<TAB>Time file of earlier sessions",
    )
    evaluate.add_argument(
        "--test", type=Path, metavar="FILE", help="the same format, sessions that started later"
    )
    evaluate.add_argument("--k", type=int, default=10, metavar="K", help="list length (default 10)")
    evaluate.add_argument(
        "--baseline",
        metavar="MODEL",
        help="also compare every model with this one, paired over the same sessions "
        "(difference and its 95%% bootstrap interval)",
    )
    evaluate.add_argument(
        "--exclude-seen",
        action="store_true",
        help="drop pages seen earlier in the session from the lists, and do not evaluate "
        "next pages that were seen earlier",
    )
    evaluate.add_argument(
        "--related",
        action="store_true",
        help="sessions are sets of pages, not sequences: rank pages for each page of a "
        "session and score the list against each of its other pages",
    )
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")


def _add_experiments(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen experiments status|decide|report|plan`."""
    site, out = shared["site"], shared["out"]
    experiments = commands.add_parser(
        "experiments", help="where A/B experiments stand, their decisions, their planning"
    )
    experiment_commands = experiments.add_subparsers(
        dest="experiments_command", required=True, metavar="SUBCOMMAND"
    )
    as_of = argparse.ArgumentParser(add_help=False)
    as_of.add_argument(
        "--as-of",
        type=_iso_date,
        metavar="DATE",
        help="judge deadlines as on this day (default: today, UTC)",
    )
    status = experiment_commands.add_parser(
        "status",
        parents=[site, out, as_of],
        help="per arm and goal: visitors, conversions, lifts with intervals, the verdict",
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    decide = experiment_commands.add_parser(
        "decide",
        parents=[site, out, as_of],
        help="apply each experiment's decision rule; --write records the outcome in site.yaml",
    )
    decide.add_argument(
        "--write",
        action="store_true",
        help="set status: concluded, winner and a decision block (comments and formatting kept)",
    )
    report = experiment_commands.add_parser(
        "report",
        parents=[site, as_of],
        help="an HTML page per experiment with its figures and charts",
    )
    report.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the report folder to write"
    )
    plan = experiment_commands.add_parser(
        "plan", parents=[out], help="visitors and days an experiment needs (power calculator)"
    )
    plan.add_argument("site", nargs="?", metavar="SITE", help="use this site's measured traffic")
    plan.add_argument(
        "--baseline",
        type=float,
        required=True,
        metavar="RATE",
        help="the control's conversion rate (0.04)",
    )
    plan.add_argument(
        "--mde",
        type=float,
        required=True,
        metavar="LIFT",
        help="the relative lift to detect (0.1 = 10%%)",
    )
    plan.add_argument(
        "--alpha", type=float, default=0.05, metavar="RATE", help="false-positive rate (0.05)"
    )
    plan.add_argument(
        "--power", type=float, default=0.8, metavar="RATE", help="chance to detect it (0.8)"
    )
    plan.add_argument("--arms", type=int, default=2, metavar="N", help="arms, control included (2)")


def _iso_date(text: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _add_config(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen config show`."""
    site, env = shared["site"], shared["env"]
    config = commands.add_parser("config", help="inspect configuration")
    config_commands = config.add_subparsers(
        dest="config_command", required=True, metavar="SUBCOMMAND"
    )
    show = config_commands.add_parser(
        "show", parents=[site, env], help="print a site's resolved config"
    )
    show.add_argument(
        "--explain", action="store_true", help="name the file and line that set each value"
    )


def _add_env(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen env diff`."""
    site = shared["site"]
    env = commands.add_parser("env", help="compare environments (staging, production, ...)")
    env_commands = env.add_subparsers(dest="env_command", required=True, metavar="SUBCOMMAND")
    diff = env_commands.add_parser(
        "diff",
        parents=[site],
        help="what differs between two environments: config, content, built output",
    )
    diff.add_argument("--from", dest="before", required=True, metavar="ENV", help="e.g. staging")
    diff.add_argument("--to", dest="after", required=True, metavar="ENV", help="e.g. production")
    diff.add_argument(
        "--no-output",
        action="store_true",
        help="compare config and content only (no build of either environment)",
    )
    diff.add_argument(
        "--deployed",
        action="store_true",
        help="also what each environment's target (the one named like it) serves, its drift, "
        "and how it differs from a build now",
    )
    diff.add_argument("--json", action="store_true", help="print the differences as JSON")


def _add_promote(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen promote`."""
    promote = commands.add_parser(
        "promote",
        parents=[shared["site"]],
        help="give one environment selected pages and experiments of another (edits sources)",
    )
    promote.add_argument("--from", dest="before", required=True, metavar="ENV", help="e.g. staging")
    promote.add_argument("--to", dest="after", required=True, metavar="ENV", help="e.g. production")
    promote.add_argument(
        "--pages", nargs="+", metavar="GLOB", help="pages by key or URL, e.g. 'articles/new-*'"
    )
    promote.add_argument("--experiments", nargs="+", metavar="ID", help="experiments by id")
    promote.add_argument("--flags", nargs="+", metavar="KEY", help="feature flags by id")
    promote.add_argument(
        "--all", action="store_true", help="every page and experiment only the source has"
    )
    promote.add_argument(
        "--dry-run", action="store_true", help="print the edits and their effect, write nothing"
    )
    promote.add_argument(
        "--without-publish-permission",
        action="store_true",
        help="edit the sources even though you may not publish the site in the target "
        "environment (someone who may deploys it)",
    )


def _add_migrate(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen migrate`."""
    migrate = commands.add_parser(
        "migrate",
        help="upgrade the repository's config files to this sitegen's formats and replace "
        "deprecated keys (prints a diff per file; all files or none)",
    )
    migrate.add_argument("--dry-run", action="store_true", help="print the diffs, write nothing")


def _add_users(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen users list|show|who-can|check|passwd|codeowners`."""
    env = shared["env"]
    users = commands.add_parser("users", help="the network's people, roles and grants (users.yaml)")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="SUBCOMMAND")
    user_commands.add_parser("list", help="everyone, with their grants")
    show = user_commands.add_parser(
        "show", parents=[env], help="what a user may do on each site, and which grant says so"
    )
    show.add_argument("user", metavar="ID", help="a user id of users.yaml")
    who = user_commands.add_parser(
        "who-can", parents=[env], help="who may do ACTION on SITE (and through which grant)"
    )
    who.add_argument("site", metavar="SITE", help="a site: a folder under sites/")
    who.add_argument(
        "action",
        metavar="ACTION",
        help="read, edit, publish (deploy, rollback), decide (conclude), manage-users",
    )
    user_commands.add_parser("check", help="validate the users files (for CI)")
    owners = user_commands.add_parser(
        "codeowners",
        help="write .github/CODEOWNERS and .gitlab/CODEOWNERS: who may change each folder",
    )
    owners.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when they are stale (CI)"
    )
    passwd = user_commands.add_parser(
        "passwd", help="set a user's password for protected sections (stores a bcrypt hash)"
    )
    passwd.add_argument("user", metavar="ID", help="a user id of users.yaml")
    passwd.add_argument(
        "--stdin",
        action="store_true",
        help="read the password from standard input's first line instead of prompting",
    )


def _add_report(commands: Subcommands, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`sitegen report`."""
    report = commands.add_parser(
        "report",
        parents=[shared["env"]],
        help="a static HTML report of the network's traffic: overview, site comparison, "
        "shared content and audiences, top pages, sources (CSV and JSON alongside)",
    )
    report.add_argument("sites", nargs="*", metavar="SITE", help="only these sites (default: all)")
    report.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="a new folder to write"
    )
    report.add_argument(
        "--from", dest="start", type=_date, metavar="DATE", help="first day (YYYY-MM-DD, UTC)"
    )
    report.add_argument(
        "--to", dest="end", type=_date, metavar="DATE", help="last day included (YYYY-MM-DD)"
    )
    report.add_argument(
        "--min-visitors",
        type=int,
        default=5,
        metavar="K",
        help="suppress every cell resting on fewer visitors than K (default 5)",
    )


def _date(text: str) -> object:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


SUBPARSERS = (
    _add_build,
    _add_serve,
    _add_analytics,
    _add_report,
    _add_deploy,
    _add_cache,
    _add_rollback,
    _add_inspect,
    _add_recommend,
    _add_experiments,
    _add_config,
    _add_env,
    _add_promote,
    _add_users,
    _add_migrate,
)
"""The subcommands, in the order `sitegen --help` lists them."""


def command_build(arguments: argparse.Namespace) -> int:
    from generator.deprecations import strict_from_environment
    from generator.pipeline.noop import check_shortcut
    from generator.pipeline.options import BuildOptions

    if arguments.jobs < 0:
        raise UsageError("sitegen build: --jobs must be 0 or more")
    root = arguments.root.resolve()
    default_out = root / ("build-preview" if arguments.preview else "build")
    options = BuildOptions(
        root=root,
        build_dir=(arguments.out or default_out).resolve(),
        environment=arguments.env,
        sites=tuple(arguments.sites),
        drafts=arguments.drafts,
        clean=arguments.clean,
        jobs=arguments.jobs,
        quiet=arguments.quiet,
        preview=arguments.preview,
        strict=arguments.strict or strict_from_environment(),
    )
    # A build allocates hundreds of thousands of long-lived objects and frees almost none
    # before it ends; the cyclic collector would traverse them again and again for nothing
    # (measured: 10-15% of a one-page rebuild of 5,000 pages). Reference counting still
    # frees everything that is not in a cycle.
    gc.disable()
    try:
        shortcut = check_shortcut(options)
        report = shortcut.report
        if report is None:
            # Only a build with work to do imports the pipeline (a no-op stays light).
            from generator.pipeline.build import build

            report = build(options, shortcut)
    finally:
        gc.enable()
    if not arguments.quiet:
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for site in report.sites:
            state = "written" if site.committed else "unchanged"
            print(
                f"{site.name}: {site.pages} pages, {site.variants} variants, "
                f"{site.assets} assets, {site.rendered} rendered, {site.unchanged} unchanged "
                f"({state}, version {site.version[:12]})"
            )
        print(report.summary())
        if any(site.variants for site in report.sites):
            from generator.runtime import runtime_size

            minified, gzipped = runtime_size()
            print(
                f"visitor runtime: {minified / 1024:.1f} KB minified, "
                f"{gzipped / 1024:.1f} KB gzipped, inline in <head>"
            )
    return 0


def command_serve(arguments: argparse.Namespace) -> int:
    import threading

    from generator.config import load_network
    from generator.pipeline.build import select_sites
    from generator.serve.server import make_server
    from generator.serve.session import ServeOptions, Session

    if not 0 <= arguments.port <= 65535:
        raise UsageError("sitegen serve: --port must be between 0 and 65535")
    root = arguments.root.resolve()
    network = load_network(root, arguments.env)
    names = (arguments.site,) if arguments.site else ()
    site = select_sites(network, names)[0].name
    options = ServeOptions(
        root=root,
        build_dir=(arguments.out or root / "build-preview").resolve(),
        site=site,
        environment=arguments.env,
        drafts=arguments.drafts,
    )
    session = Session(options, say=lambda text: print(text, flush=True))
    session.first_build()
    try:
        server = make_server(session.preview, arguments.port)
    except OSError as error:
        raise SitegenError(
            f"cannot listen on 127.0.0.1:{arguments.port}: {error.strerror}"
        ) from None
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    thread.start()
    port = server.server_address[1]

    def ready() -> None:
        print(f"serving {site} at http://127.0.0.1:{port}/ (Ctrl-C stops)", flush=True)

    try:
        session.watch(stop, ready)
    finally:
        stop.set()
        session.preview.events.close()
        server.shutdown()
        server.server_close()
    return 0


def command_env(arguments: argparse.Namespace) -> int:
    from generator.staging.diff import environment_diff, format_diff

    if arguments.before == arguments.after:
        raise UsageError(f"sitegen env diff: --from and --to are both '{arguments.before}'")
    found = environment_diff(
        arguments.root.resolve(),
        arguments.site,
        arguments.before,
        arguments.after,
        output=not arguments.no_output,
        deployed=arguments.deployed,
    )
    if arguments.json:
        print(json.dumps(found.to_json(), indent=2, default=str))
    else:
        print(format_diff(found), end="")
    return 0


def command_promote(arguments: argparse.Namespace) -> int:
    from generator.staging.diff import format_output
    from generator.staging.promote import Selection, plan_promotion, production_changes

    if arguments.before == arguments.after:
        raise UsageError(f"sitegen promote: --from and --to are both '{arguments.before}'")
    if arguments.all == bool(arguments.pages or arguments.experiments or arguments.flags):
        raise UsageError("sitegen promote: give --pages, --experiments or --flags, or --all")
    root = arguments.root.resolve()
    if not arguments.dry_run:
        _may_promote(root, arguments)
    selection = Selection(
        tuple(arguments.pages or ()),
        tuple(arguments.experiments or ()),
        tuple(arguments.flags or ()),
        arguments.all,
    )
    promotion = plan_promotion(root, arguments.site, arguments.before, arguments.after, selection)
    chosen = [f"page {key}" for key in promotion.pages]
    chosen += [f"experiment {name}" for name in promotion.experiments]
    chosen += [f"flag {name}" for name in promotion.flags]
    print(f"promote to {arguments.after}: {', '.join(chosen)}")
    print(promotion.diff(root), end="")
    changes = production_changes(root, arguments.site, arguments.after, promotion)
    print(f"{arguments.site} built for {arguments.after} would change:")
    print(format_output(changes, indent="  "), end="")
    if arguments.dry_run:
        print("dry run: nothing written")
        return 0
    promotion.write()
    print(f"wrote {len(promotion.edits)} files; review, commit, then sitegen deploy")
    return 0


def _may_promote(root: Path, arguments: argparse.Namespace) -> None:
    """Promoting prepares a deploy: one who may not publish the site in the target
    environment must say they mean it (users.yaml; a network without users checks no one)."""
    from generator.config import load_network
    from generator.errors import SitegenError

    network = load_network(root, arguments.after)
    try:
        _authorize(root, network, arguments.site, arguments.after, "publish", "sitegen promote")
    except SitegenError as error:
        if arguments.without_publish_permission:
            print(f"warning: {error.message}; promoting anyway", file=sys.stderr)
            return
        raise SitegenError(
            f"{error.message}: promoting prepares a deploy you could not make; pass "
            "--without-publish-permission to edit the sources anyway"
        ) from None


def command_config_show(arguments: argparse.Namespace) -> int:
    from generator.config import load_network
    from generator.config.explain import format_config
    from generator.errors import ConfigError, suggest

    network = load_network(arguments.root.resolve(), arguments.env)
    site = network.sites.get(arguments.site)
    if site is None:
        raise ConfigError(
            f"no site '{arguments.site}'" + suggest(arguments.site, list(network.sites))
        )
    print(format_config(site, explain=arguments.explain), end="")
    if site.features and not site.abstract:
        from generator.personalize.features import resolve, visitor_flags

        print(f"# feature flags, as a build of {site.name} ({site.environment}) resolves them")
        by_visitor = {flag.id: flag for flag in visitor_flags(site)}
        for flag in site.features:
            where = f", {flag.location}" if arguments.explain else ""
            if flag.id in by_visitor:
                visitor = by_visitor[flag.id]
                values = ", ".join(json.dumps(value) for value in visitor.values)
                print(
                    f"#   {flag.id}: looks at the visitor, resolved by the runtime; values "
                    f"{values} (the first in default files), a variant per value on "
                    f"{', '.join(visitor.pages)}{where}"
                )
                continue
            found = resolve(site, flag.id)
            value = json.dumps(found.value)
            origin = f"rule {found.rule}" if found.rule else found.source
            print(f"#   {flag.id} = {value}  ({origin}{where})")
    return 0


def command_migrate(arguments: argparse.Namespace) -> int:
    from generator.config.yaml_edit import unified_diff
    from generator.migrate import apply, plan

    changes = plan(arguments.root.resolve())
    if not changes:
        print(
            "nothing to migrate: every config file is in this sitegen's format, and no file "
            "uses a deprecated name"
        )
        return 0
    for change in changes:
        print(unified_diff(change.old, change.new, change.display), end="")
        for step in change.steps:
            print(f"# {change.display}: {step}")
    if arguments.dry_run:
        print(f"{len(changes)} file(s) would change (--dry-run: nothing written)")
        return 0
    apply(changes)
    print(f"migrated {len(changes)} file(s)")
    return 0


def command_experiments(arguments: argparse.Namespace) -> int:
    if arguments.experiments_command == "plan":
        return command_experiments_plan(arguments)
    if arguments.experiments_command == "decide":
        return command_experiments_decide(arguments)
    if arguments.experiments_command == "report":
        return command_experiments_report(arguments)
    return command_experiments_status(arguments)


def command_experiments_report(arguments: argparse.Namespace) -> int:
    from generator.experiments.present import site_statuses
    from generator.experiments.report import write_report

    root = arguments.root.resolve()
    _, site = _buildable_site(root, arguments.site)
    statuses = site_statuses(site, BuildLayout(root / "build").checked(), arguments.as_of)
    written = write_report(site.name, statuses, arguments.out.resolve())
    print(f"{site.name}: wrote {len(written)} pages to {arguments.out}")
    return 0


def command_experiments_decide(arguments: argparse.Namespace) -> int:
    import datetime as dt

    from generator.config import load_network
    from generator.experiments.decide import decisions, diff, edited
    from generator.experiments.present import site_statuses
    from generator.files import replace_text as write

    root = arguments.root.resolve()
    network, site = _buildable_site(root, arguments.site)
    if arguments.write:
        action = f"experiments decide {site.name} --write"
        _authorize(root, network, site.name, network.environment, "decide", action)
    today = arguments.as_of or dt.datetime.now(dt.UTC).date()
    statuses = site_statuses(site, _layout(arguments, root), today)
    made = decisions(statuses, today)
    concluded = {decision.experiment for decision in made}
    for found in statuses:
        if found.experiment.id not in concluded:
            print(f"{found.experiment.id}: {found.verdict}: {found.reason}")
    if not made:
        print(f"{site.name}: nothing to conclude")
        return 0
    for decision in made:
        print(f"{decision.experiment}: concluded, winner {decision.winner}: {decision.reason}")
    path = site.directory / "site.yaml"
    display = path.relative_to(root).as_posix()
    text = edited(path, made)
    print(diff(path, text, display), end="")
    if not arguments.write:
        print("(not written: add --write to record it)")
        return 0
    before = path.read_text(encoding="utf-8")
    write(path, text)
    try:
        load_network(root)  # all or nothing: the recorded file must still load
    except SitegenError:
        write(path, before)
        raise
    print(f"wrote {display}")
    return 0


def command_experiments_status(arguments: argparse.Namespace) -> int:
    import json

    from generator.experiments.present import as_json, as_text, site_statuses

    root = arguments.root.resolve()
    _, site = _buildable_site(root, arguments.site)
    statuses = site_statuses(site, _layout(arguments, root), arguments.as_of)
    if arguments.json:
        print(json.dumps([as_json(found) for found in statuses], indent=2))
        return 0
    if not statuses:
        print(f"{site.name}: no experiment is running, stopped or concluded")
    for found in statuses:
        print(as_text(found))
    return 0


def command_experiments_plan(arguments: argparse.Namespace) -> int:
    from generator.experiments.plan import daily_visitors, plan_text

    traffic = None
    if arguments.site:
        root = arguments.root.resolve()
        _, site = _buildable_site(root, arguments.site)
        traffic = daily_visitors(_layout(arguments, root).events, site.name)
    try:
        text = plan_text(
            arguments.baseline,
            arguments.mde,
            arguments.alpha,
            arguments.power,
            arguments.arms,
            traffic,
        )
    except ValueError as error:
        raise UsageError(f"sitegen experiments plan: {error}") from None
    print(text)
    return 0


def command_recommend_eval(arguments: argparse.Namespace) -> int:
    from generator.recommend.evaluate import Protocol, as_json, evaluate_all, format_table
    from generator.recommend.models import MODELS
    from generator.recommend.sessions import read_session_file

    if arguments.k < 1:
        raise UsageError(f"sitegen recommend eval: --k must be at least 1, got {arguments.k}")
    if arguments.baseline is not None and arguments.baseline not in [*MODELS, "content"]:
        raise UsageError(
            f"sitegen recommend eval: no model '{arguments.baseline}' for --baseline; "
            f"expected one of {', '.join(MODELS)}"
        )
    pages: dict[str, Any] = {}
    if arguments.site is not None:
        from generator.content import SourceReader, collect_site_content
        from generator.recommend.evaluate import site_split

        root = arguments.root.resolve()
        network, site = _buildable_site(root, arguments.site)
        # Sessions name pages by URL; the content model reads the pages behind them.
        content = collect_site_content(site, network, SourceReader(root))
        pages = {page.url: page for page in content.pages}
        train, test = site_split(_layout(arguments, root).events, arguments.site)
    elif arguments.train is None or arguments.test is None:
        raise UsageError("sitegen recommend eval: give a SITE, or both --train and --test")
    else:
        train = read_session_file(arguments.train)
        test = read_session_file(arguments.test)
    if arguments.related and arguments.exclude_seen:
        raise UsageError("sitegen recommend eval: --related and --exclude-seen exclude each other")
    if arguments.baseline == "content" and not pages:
        raise UsageError(
            "sitegen recommend eval: --baseline content needs a SITE (the pages' texts)"
        )
    protocol = Protocol(arguments.k, arguments.exclude_seen, arguments.related)
    found = evaluate_all(train, test, protocol=protocol, pages=pages, baseline=arguments.baseline)
    if arguments.json:
        document = as_json(found, arguments.k, arguments.baseline)
        document.update(train_sessions=len(train), test_sessions=len(test))
        document["exclude_seen"] = arguments.exclude_seen
        print(json.dumps(document, indent=2))
        return 0
    print(
        f"train: {len(train)} sessions; test: {len(test)} sessions"
        + ("" if pages else " (no page texts: no content model)")
        + ("; pages seen earlier in a session excluded" if arguments.exclude_seen else "")
    )
    print(format_table(found, arguments.k, arguments.baseline), end="")
    return 0


def command_report(arguments: argparse.Namespace) -> int:
    from generator.config import load_network
    from generator.errors import ConfigError, suggest
    from generator.report import network_report

    if arguments.start and arguments.end and arguments.start > arguments.end:
        raise UsageError(f"sitegen report: --from {arguments.start} is after --to {arguments.end}")
    if arguments.min_visitors < 1:
        raise UsageError("sitegen report: --min-visitors must be at least 1")
    root = arguments.root.resolve()
    network = load_network(root, arguments.env)
    buildable = {site.name: site for site in network.buildable_sites()}
    for name in arguments.sites:
        if name not in buildable:
            raise ConfigError(f"no buildable site '{name}'" + suggest(name, list(buildable)))
    sites = [buildable[name] for name in arguments.sites] or list(buildable.values())
    written = network_report(
        root,
        network,
        sites,
        arguments.out.resolve(),
        arguments.start,
        arguments.end,
        arguments.min_visitors,
    )
    print(
        f"{arguments.out}: {written.pages} pages and {written.data_files} data files "
        f"({len(sites)} sites)"
    )
    return 0


def command_analytics(arguments: argparse.Namespace) -> int:
    if arguments.analytics_command == "simulate":
        return command_analytics_simulate(arguments)
    if arguments.analytics_command == "copy":
        return command_analytics_copy(arguments)
    if arguments.analytics_command == "export":
        from generator.analytics.export import export_parquet

        root = arguments.root.resolve()
        store = BuildLayout(root / "build").checked().events
        done = export_parquet(store, arguments.out.resolve(), tuple(arguments.sites))
        print(f"{arguments.out}: {done.events} events in {done.files} files (site=/day=)")
        return 0
    if arguments.analytics_command == "db":
        from generator.analytics.dbcheck import check, render

        root = arguments.root.resolve()
        result = check(_layout(arguments, root).checked().events, apply=arguments.apply)
        print(render(result))
        return 1 if result.problems else 0
    return command_analytics_ingest(arguments)


def command_analytics_copy(arguments: argparse.Namespace) -> int:
    from generator.config import load_network
    from generator.staging.sanitize import copy_events, load_rules

    if arguments.before == arguments.after:
        raise UsageError(f"sitegen analytics copy: --from and --to are both '{arguments.before}'")
    if arguments.after == "production" and not arguments.allow_production:
        raise UsageError(
            "sitegen analytics copy: refusing to copy into production's events store: test "
            "traffic would mix with the numbers experiments and reports decide on (pass "
            "--allow-production if that is really wanted)"
        )
    root = arguments.root.resolve()
    for environment in (arguments.before, arguments.after):
        load_network(root, environment)  # an unknown environment is an error here
    rules = load_rules(arguments.rules)
    layout = BuildLayout(root / "build").checked()
    destination = layout.events_of(arguments.after)
    if arguments.from_target:
        summary = _copy_from_target(root, arguments, rules, destination)
    else:
        if arguments.site:
            raise UsageError("sitegen analytics copy: --site goes with --from-target")
        source = layout.events_of(arguments.before)
        summary = copy_events(source, destination, rules, dry_run=arguments.dry_run)
    where = "dry run: nothing written" if arguments.dry_run else f"written to {destination}"
    print(f"{arguments.before} -> {arguments.after}: {summary.text()} ({where})")
    return 0


def _copy_from_target(
    root: Path, arguments: argparse.Namespace, rules: Any, destination: Path
) -> Any:
    """The target's logs ingested whole into a throwaway store (user agents and IPs stay
    behind: the store keeps a device class and a salted hash), then copied like a store."""
    import tempfile

    from generator.analytics.remote_logs import ingest_with_target
    from generator.analytics.store import EventStore
    from generator.deploy.connection import target_of
    from generator.staging.sanitize import copy_events

    if not arguments.site:
        raise UsageError("sitegen analytics copy: --from-target needs --site")
    _, site = _buildable_site(root, arguments.site, arguments.before)
    target = target_of(site, arguments.from_target)
    with tempfile.TemporaryDirectory(prefix="sitegen-copy-") as folder:
        store_path = Path(folder) / "events.sqlite"
        store = EventStore(store_path)
        notes: list[str] = []
        try:
            report = ingest_with_target(store, site.name, target, [], [], notes)
        finally:
            store.close()
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        print(f"{target.name}: {report.summary()}")
        return copy_events(store_path, destination, rules, dry_run=arguments.dry_run)


def _buildable_site(
    root: Path, name: str, environment: str = "production"
) -> tuple[Network, SiteConfig]:
    from generator.config import load_network
    from generator.errors import ConfigError, suggest

    network = load_network(root, environment)
    if name not in network.sites or network.sites[name].abstract:
        known = [site.name for site in network.buildable_sites()]
        raise ConfigError(f"no buildable site '{name}'" + suggest(name, known))
    return network, network.sites[name]


def command_analytics_simulate(arguments: argparse.Namespace) -> int:
    from generator.analytics.simulate import Lift, simulate, write_simulated_log
    from generator.content import SourceReader, collect_site_content

    if arguments.visitors < 1 or arguments.days < 1:
        raise UsageError("sitegen analytics simulate: --visitors and --days must be positive")
    root = arguments.root.resolve()
    network, site = _buildable_site(root, arguments.site)
    lifts = tuple(Lift.parse(text) for text in arguments.lift)
    for lift in lifts:
        _check_lift(site, lift)
    content = collect_site_content(site, network, SourceReader(root))
    built = _layout(arguments, root).published(site.name)
    count = write_simulated_log(
        arguments.output,
        simulate(
            site,
            content,
            built,
            arguments.visitors,
            arguments.days,
            arguments.seed,
            lifts=lifts,
        ),
    )
    print(f"{arguments.site}: wrote {count} log lines to {arguments.output}")
    return 0


def _check_lift(site: SiteConfig, lift: Lift) -> None:
    from generator.errors import ConfigError, suggest

    experiments = {e.key: e for e in site.personalization.experiments}
    if lift.experiment not in experiments:
        raise ConfigError(
            f"--lift: site '{site.name}' has no experiment '{lift.experiment}'"
            + suggest(lift.experiment, list(experiments))
        )
    arms = [arm.name for arm in experiments[lift.experiment].arms]
    if lift.arm not in arms:
        raise ConfigError(
            f"--lift: experiment '{lift.experiment}' has no arm '{lift.arm}'"
            + suggest(lift.arm, arms)
        )


def command_analytics_ingest(arguments: argparse.Namespace) -> int:
    from generator.analytics.ingest import ingest
    from generator.analytics.store import EventStore
    from generator.errors import ConfigError

    root = arguments.root.resolve()
    _, site = _buildable_site(root, arguments.site)
    if not arguments.access_log and not arguments.jsonl and not arguments.from_target:
        raise UsageError(
            "sitegen analytics ingest: give --access-log, --jsonl and/or --from-target"
        )
    for path in [*arguments.access_log, *arguments.jsonl]:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
    if arguments.jobs < 0:
        raise UsageError("sitegen analytics ingest: --jobs must be 0 or more")
    build_dir = _layout(arguments, root).root
    store = EventStore(BuildLayout(build_dir).events)
    notes: list[str] = []
    try:
        if arguments.from_target:
            from generator.analytics.remote_logs import ingest_with_target
            from generator.deploy.connection import target_of

            report = ingest_with_target(
                store,
                arguments.site,
                target_of(site, arguments.from_target),
                arguments.access_log,
                arguments.jsonl,
                notes,
                arguments.jobs,
            )
        else:
            report = ingest(
                store, arguments.site, arguments.access_log, arguments.jsonl, arguments.jobs
            )
    finally:
        store.close()
    for note in notes:
        print(note, file=sys.stderr)
    for line in report.malformed_lines:
        print(f"malformed: {line}", file=sys.stderr)
    if report.malformed > len(report.malformed_lines):
        print(
            f"malformed: ... {report.malformed - len(report.malformed_lines)} more", file=sys.stderr
        )
    print(f"{arguments.site}: {report.summary()}")
    return 0


def _authorize(
    root: Path, network: Network, site: str, environment: str, permission: str, action: str
) -> str:
    """The acting user's id when users.yaml gives them `permission` on `site` (an error
    otherwise); '' when the network declares no users."""
    from generator.users.acting import require
    from generator.users.load import load_users

    user = require(load_users(network), root, site, environment, permission, action)
    return user.id if user is not None else ""


def _origin(root: Path, journal: Path) -> Origin:
    """Who deploys (SITEGEN_DEPLOYER, else git's user, else the login) and the commit."""
    import getpass
    import subprocess

    from generator.deploy.bookkeeping import Origin

    def git(*arguments: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(root), *arguments],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.strip()
        except OSError:
            return ""

    email = git("config", "user.email")
    who = (
        os.environ.get("SITEGEN_DEPLOYER")
        or " ".join(
            part for part in (git("config", "user.name"), f"<{email}>" if email else "") if part
        )
        or getpass.getuser()
    )
    return Origin(who, git("rev-parse", "HEAD"), journal)


def _confirm(arguments: argparse.Namespace, what: str) -> Callable[[DeployPlan], bool]:
    def confirm(plan: DeployPlan) -> bool:
        if arguments.yes or not (sys.stdin.isatty() and sys.stdout.isatty()):
            return True
        answer = input(f"Execute plan {plan.digest} ({what}) on {arguments.target}? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    return confirm


def _print_notes(origin: Origin) -> None:
    for note in origin.notes:
        print(note, file=sys.stderr)


def command_deploy(arguments: argparse.Namespace) -> int:
    from generator.deploy.connection import target_of
    from generator.deploy.meta import deploy_meta
    from generator.deploy.plan import describe
    from generator.deploy.publish import DeployOptions, deploy, local_manifest

    root = arguments.root.resolve()
    network, site = _buildable_site(root, arguments.site, arguments.env)
    target = target_of(site, arguments.target)
    build_dir = _layout(arguments, root).root
    meta = deploy_meta(network, site, build_dir, local_manifest(build_dir, arguments.site))
    origin = _origin(root, BuildLayout(build_dir).deploy_journal(arguments.site))
    if not arguments.dry_run:  # a dry run changes nothing: anyone may review the plan
        origin.user = _authorize(
            root, network, site.name, arguments.env, "publish", f"deploy {site.name}"
        )
    try:
        options = DeployOptions(
            dry_run=arguments.dry_run,
            break_lock=arguments.break_lock,
            verify_full=arguments.verify == "full",
            max_bytes=arguments.max_bytes,
            expected_plan=arguments.plan,
        )
        report = deploy(
            arguments.site,
            target,
            build_dir,
            meta,
            origin,
            options,
            confirm=_confirm(arguments, "deploy"),
            show=lambda plan: print(describe(plan), end=""),
        )
    finally:
        _print_notes(origin)
    if not arguments.dry_run and report.plan.operations:
        print(
            f"deployed {report.plan.to_version[:12]} to {target.name}: {report.uploaded} "
            f"uploaded, {report.restored} restored by rename, {report.skipped} already "
            f"there, {report.deleted} deleted, {report.bytes} bytes sent"
            + (f", {report.verified} verified by content" if report.verified else "")
            + f", in {report.seconds:.1f}s"
        )
        _purge(arguments, site, report.plan)
    return 0


def _purge(arguments: argparse.Namespace, site: SiteConfig, plan: DeployPlan) -> None:
    from generator.deploy.purge import call_purge_webhook, purge_urls

    urls = purge_urls(site, plan)
    if arguments.purge_list is not None:
        arguments.purge_list.write_text("".join(f"{url}\n" for url in urls), encoding="utf-8")
        print(f"{len(urls)} URL(s) to purge written to {arguments.purge_list}")
    webhook = site.cdn.purge_webhook
    if webhook and urls:
        problem = call_purge_webhook(webhook, site.name, plan, urls)
        print(
            problem or f"purge webhook called with {len(urls)} URL(s)",
            file=sys.stderr if problem else sys.stdout,
        )


def command_cache(arguments: argparse.Namespace) -> int:
    from generator.cache import ContentCache

    root = arguments.root.resolve()
    cache = ContentCache(_layout(arguments, root).cache)
    if arguments.cache_command == "gc":
        removed, freed = cache.gc()
        print(f"removed {removed} entries ({freed} bytes) the last build did not use")
        return 0
    for found in cache.stats():
        print(f"{found.kind:<9} {found.entries:>7} entries {found.bytes:>12} bytes")
    return 0


def command_rollback(arguments: argparse.Namespace) -> int:
    from generator.deploy.connection import target_of
    from generator.deploy.plan import describe
    from generator.deploy.rollback import RollbackOptions, rollback

    root = arguments.root.resolve()
    network, site = _buildable_site(root, arguments.site, arguments.env)
    target = target_of(site, arguments.target)
    build_dir = _layout(arguments, root).root
    origin = _origin(root, BuildLayout(build_dir).deploy_journal(arguments.site))
    if not arguments.dry_run:
        origin.user = _authorize(
            root, network, site.name, arguments.env, "publish", f"rollback {site.name}"
        )

    def show(plan: DeployPlan, problems: list[str]) -> None:
        print(describe(plan).replace(f"deploy {plan.site}", f"rollback {plan.site}", 1), end="")
        print(
            "dependency checks: "
            + ("passed" if not problems else "")
            + "".join(f"\n  - {problem}" for problem in problems)
        )

    try:
        options = RollbackOptions(
            dry_run=arguments.dry_run,
            break_lock=arguments.break_lock,
            verify_full=arguments.verify == "full",
            to=arguments.to,
            force=arguments.force,
        )
        report = rollback(
            network,
            arguments.site,
            target,
            origin,
            options,
            confirm=_confirm(arguments, "rollback"),
            show=show,
        )
    finally:
        _print_notes(origin)
    if not arguments.dry_run:
        print(
            f"rolled back {target.name} to {report.plan.to_version[:12]}: {report.restored} "
            f"restored by rename, {report.uploaded} copied, {report.deleted} set aside, "
            f"{report.bytes} bytes sent, in {report.seconds:.1f}s; every file checked"
        )
    return 0


def command_diff(arguments: argparse.Namespace) -> int:
    from generator.deploy.connection import target_of
    from generator.deploy.inspect import describe_changes

    root = arguments.root.resolve()
    _, site = _buildable_site(root, arguments.site)
    print(
        describe_changes(
            arguments.site,
            target_of(site, arguments.target),
            _layout(arguments, root).root,
        ),
        end="",
    )
    return 0


def command_journal(arguments: argparse.Namespace) -> int:
    import datetime as dt

    from generator.deploy.connection import target_of
    from generator.deploy.inspect import remote_journal

    root = arguments.root.resolve()
    _, site = _buildable_site(root, arguments.site)
    entries, damaged = remote_journal(target_of(site, arguments.target))
    if damaged:
        print(
            f"note: skipped {damaged} damaged line(s) of the journal (cut short by a killed run)",
            file=sys.stderr,
        )
    for entry in entries:
        when = dt.datetime.fromtimestamp(entry.get("time", 0), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{when} {entry.get('event', ''):<7} {entry.get('id', '')} "
            f"{entry.get('who', '')} {entry.get('from', '')[:12] or '-'} -> "
            f"{entry.get('to', '')[:12]} {entry.get('operations', 0)} operations, "
            f"{entry.get('bytes', 0)} bytes"
            + (f" ({entry['error']})" if entry.get("error") else "")
        )
    return 0


def command_status(arguments: argparse.Namespace) -> int:
    from generator.deploy.connection import target_of
    from generator.deploy.inspect import remote_status

    root = arguments.root.resolve()
    _, site = _buildable_site(root, arguments.site)
    print(remote_status(arguments.site, target_of(site, arguments.target), arguments.full), end="")
    return 0


def command_users(arguments: argparse.Namespace) -> int:
    from generator.config import load_network
    from generator.users import report
    from generator.users.load import load_users

    root = arguments.root.resolve()
    network = load_network(root, getattr(arguments, "env", "production"))
    users = load_users(network)
    command = arguments.users_command
    if command == "passwd":
        return _users_passwd(arguments, root, users)
    if command == "codeowners":
        return _users_codeowners(arguments, root, network, users)
    if command == "list":
        print(report.list_users(users), end="")
    elif command == "check":
        print(report.summary(users), end="")
    elif command == "who-can":
        print(report.who_can(users, arguments.site, arguments.env, arguments.action), end="")
    elif command == "show":
        user = users.named(arguments.user)
        print(report.show_user(users, user, sorted(network.sites), arguments.env), end="")
    return 0


def _users_codeowners(
    arguments: argparse.Namespace, root: Path, network: Network, users: Users
) -> int:
    from generator.config.yaml_edit import unified_diff
    from generator.files import replace_text
    from generator.users.codeowners import FILES, codeowners, stale

    if not users.declared:
        raise SitegenError("users codeowners: no users.yaml: the network declares no one")
    owners = codeowners(users, network)
    for note in owners.notes:
        print(f"warning: {note}", file=sys.stderr)
    outdated = stale(root, owners.text)
    if arguments.check:
        for name in outdated:
            path = root / name
            old = path.read_text(encoding="utf-8") if path.is_file() else ""
            print(unified_diff(old, owners.text, name), end="")
        if outdated:
            print(
                f"error: {', '.join(outdated)} stale: run sitegen users codeowners",
                file=sys.stderr,
            )
            return 1
        print(f"{', '.join(FILES)}: up to date")
        return 0
    for name in outdated:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        replace_text(root / name, owners.text)
    print(f"{', '.join(outdated)}: written" if outdated else f"{', '.join(FILES)}: up to date")
    return 0


def _users_passwd(arguments: argparse.Namespace, root: Path, users: Users) -> int:
    import getpass

    from generator.errors import SitegenError
    from generator.users.acting import acting_user
    from generator.users.passwords import check_password, hash_password, write_hash

    user = users.named(arguments.user)
    acting, known_as = acting_user(users, root)
    # Another person's password: 'manage-users' wherever they hold a grant (or, for someone
    # with none, on the network's root sites).
    sites = sorted({grant.site for grant in user.grants}) or sorted(
        site for site, lineage in users.lineages.items() if len(lineage) == 1
    )
    may = acting is not None and (
        acting.id == user.id
        or all(users.can(acting, site, "production", "manage-users") for site in sites)
    )
    if not may:
        who = f"user '{acting.id}'" if acting is not None else "no known user"
        raise SitegenError(
            f"users passwd {user.id}: {who} ({known_as}) may set only their own password "
            f"without 'manage-users' on {', '.join(sites)}"
        )
    if arguments.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"new password for {user.id}: ")
        check_password(password)
        if getpass.getpass("again: ") != password:
            raise SitegenError("the two passwords differ: nothing changed")
    write_hash(root, user, hash_password(password))
    print(f"{user.file}: password of {user.id} set (bcrypt, cost 12)")
    return 0


COMMANDS = {
    "deploy": command_deploy,
    "rollback": command_rollback,
    "cache": command_cache,
    "status": command_status,
    "diff": command_diff,
    "journal": command_journal,
    "analytics": command_analytics,
    "report": command_report,
    "build": command_build,
    "serve": command_serve,
    "config": command_config_show,
    "env": command_env,
    "promote": command_promote,
    "recommend": command_recommend_eval,
    "experiments": command_experiments,
    "migrate": command_migrate,
    "users": command_users,
}


def _deprecated_flags(argv: list[str]) -> tuple[list[str], list[str]]:
    """The arguments with each deprecated flag replaced, and a message per use."""
    from generator.deprecations import FLAGS

    if not FLAGS:
        return argv, []
    replaced, uses = [], []
    for argument in argv:
        flag, equals, value = argument.partition("=")
        deprecation = FLAGS.get(flag)
        if deprecation is not None:
            uses.append(f"command line: {deprecation.message()}")
            argument = deprecation.replacement + equals + value
        replaced.append(argument)
    return replaced, uses


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    argv, deprecated = _deprecated_flags(list(sys.argv[1:] if argv is None else argv))
    if deprecated:
        from generator.deprecations import strict_from_environment

        if strict_from_environment() or "--strict" in argv:
            print("\n".join(f"error: {use}" for use in deprecated), file=sys.stderr)
            return 1
        for use in deprecated:
            print(f"warning: {use}", file=sys.stderr)
    arguments = parser.parse_args(argv)
    try:
        return COMMANDS[arguments.command](arguments)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(error, file=sys.stderr)
        return 2
    except SitegenError as error:
        print(error.report(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
