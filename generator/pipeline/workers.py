"""Rendering outputs, in worker processes when there is enough work to share.

Workers are forked after every site's state and plan exist, so each worker reads them from
memory it inherited; a task is only (site, index into the plan) and a result is only the
file's hash, size and recorded dependencies: the bytes go straight to the staging tree.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from generator.dependencies import recording
from generator.pipeline.freshness import Fingerprints
from generator.pipeline.output import WrittenFile, write_file
from generator.pipeline.plan import SitePlan
from generator.pipeline.renderers import RENDERERS, remember_rendered
from generator.pipeline.site_state import SiteState
from generator.render.markdown import typography

INLINE_LIMIT = 24
"""Below this many outputs, forking workers costs more than it saves."""


@dataclass(eq=False)
class SiteJob:
    state: SiteState
    plan: SitePlan
    staging: Path
    fingerprints: Fingerprints


@dataclass(frozen=True, slots=True)
class RenderResult:
    site: str
    index: int
    written: WrittenFile
    dependencies: tuple[tuple[str, str, str], ...]


_jobs: dict[str, SiteJob] = {}


def render_one(task: tuple[str, int]) -> RenderResult:
    site, index = task
    job = _jobs[site]
    output = job.plan.outputs[index]
    with recording() as dependencies, typography(job.state.site.compat.smart_quotes):
        data = RENDERERS[output.renderer](job.state, output)
    remember_rendered(output, data, frozenset(dependencies))
    written = write_file(job.staging, output.path, data)
    fingerprints = tuple(
        sorted((kind, key, job.fingerprints.fingerprint(kind, key)) for kind, key in dependencies)
    )
    return RenderResult(site, index, written, fingerprints)


def render_all(
    jobs: dict[str, SiteJob],
    tasks: list[tuple[str, int]],
    processes: int,
    advance: Callable[[], None],
) -> Iterator[RenderResult]:
    """Render every task; yields results in completion order."""
    _jobs.clear()
    _jobs.update(jobs)
    try:
        if processes <= 1 or len(tasks) < INLINE_LIMIT:
            for task in tasks:
                yield render_one(task)
                advance()
            return
        context = multiprocessing.get_context("fork")
        chunk = max(1, min(32, len(tasks) // (processes * 8)))
        with context.Pool(processes) as pool:
            for result in pool.imap_unordered(render_one, tasks, chunksize=chunk):
                yield result
                advance()
    finally:
        _jobs.clear()
