"""`sitegen analytics simulate`: realistic synthetic access logs for a site of the network.

For a newcomer who has no traffic yet: visitors (some returning), sessions that wander from
an entry page through sections and related topics, newsletter arrivals with utm_source,
experiment arms assigned exactly as the runtime would, goal conversions (a little likelier in
a treatment arm, so there is something to find), crawlers, HEAD probes and a few malformed
lines. The runtime's pixel requests are written next to the HTML requests, as a real host's
log would show them. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from generator.analytics.pixel import PIXEL_PATH
from generator.config.model import SiteConfig
from generator.content.index import SiteContent
from generator.content.page import Page
from generator.personalize.hashing import assign

BROWSERS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
)
CRAWLERS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
)


def _line(ip: str, moment: float, method: str, target: str, agent: str, referrer: str = "-") -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(moment))
    return f'{ip} - - [{stamp}] "{method} {target} HTTP/1.1" 200 {2048} "{referrer}" "{agent}"'


def simulate(
    site: SiteConfig,
    content: SiteContent,
    visitors: int = 400,
    days: int = 14,
    seed: int = 2026,
    start: float = 1780000000.0,
) -> Iterator[str]:
    """Access-log lines for `site`, in time order."""
    rng = random.Random(f"{seed}:{site.name}")
    pages = list(content.pages)
    if not pages:
        return
    by_tag: dict[str, list[str]] = {}
    for page in pages:
        for tag in page.tags:
            by_tag.setdefault(tag, []).append(page.url)
    experiments = [e for e in site.personalization.experiments if e.status == "running"]
    lines: list[tuple[float, str]] = []
    for _ in range(visitors):
        visitor = f"{rng.getrandbits(96):024x}"
        ip = f"198.51.{rng.randrange(100)}.{rng.randrange(1, 255)}"
        agent = rng.choice(BROWSERS)
        arms = {
            e.key: assign(
                visitor,
                e.key,
                len(e.arms),
                weights=[a.weight for a in e.arms],
                coverage=e.coverage,
                seed=e.seed,
            )
            for e in experiments
        }
        visit_count = 1 + (rng.random() < 0.35) * rng.randrange(1, 4)
        for _ in range(visit_count):
            moment = start + rng.random() * days * 86400
            session = f"{rng.getrandbits(96):024x}"
            newsletter = rng.random() < 0.15
            current = "/" if rng.random() < 0.4 else rng.choice(pages).url
            referrer = "-"
            for step in range(rng.randrange(1, 7)):
                target = current + ("?utm_source=newsletter" if newsletter and step == 0 else "")
                lines.append((moment, _line(ip, moment, "GET", target, agent, referrer)))
                variant = "+".join(
                    sorted(
                        f"{e.key}-{e.arms[arms[e.key]].name}"
                        for e in experiments
                        if arms[e.key] >= 0 and any(_matches(current, g) for g in e.pages)
                    )
                )
                pixel = (
                    f"/{PIXEL_PATH}?e=view&p={quote(current, safe='/')}&v={variant}"
                    f"&b=sim&u={visitor}&s={session}&t={int(moment * 1000)}"
                )
                lines.append(
                    (
                        moment + 1,
                        _line(
                            ip,
                            moment + 1,
                            "GET",
                            pixel,
                            agent,
                            f"https://{site.name}.example{current}",
                        ),
                    )
                )
                for experiment in experiments:
                    arm = arms[experiment.key]
                    boost = 0.08 if arm > 0 else 0.04  # the treatment converts a bit more
                    goal_pages = [g for g in experiment.goals if g.page]
                    if arm >= 0 and goal_pages and rng.random() < boost:
                        goal = goal_pages[0].page or ""
                        lines.append(
                            (
                                moment + 2,
                                _line(
                                    ip,
                                    moment + 2,
                                    "GET",
                                    f"/{PIXEL_PATH}?e=goal&p={quote(goal, safe='/')}&v=&b=sim"
                                    f"&u={visitor}&s={session}&x={experiment.key}:{goal_pages[0].id}",
                                    agent,
                                ),
                            )
                        )
                referrer = f"https://{site.name}.example{current}"
                here = next((p for p in pages if p.url == current), None)
                related = [
                    url
                    for tag in (here.tags if here else ())
                    for url in by_tag[tag]
                    if url != current
                ]
                current = (
                    rng.choice(related) if related and rng.random() < 0.7 else rng.choice(pages).url
                )
                moment += rng.uniform(20, 300)
    lines += _noise(rng, pages, visitors, start, days)
    for _, text in sorted(lines):
        yield text


def _noise(
    rng: random.Random, pages: list[Page], visitors: int, start: float, days: int
) -> list[tuple[float, str]]:
    """What real logs hold besides visitors: crawlers, uptime probes, garbled lines."""
    lines = []
    for number in range(visitors // 4):  # crawlers walk everything
        moment = start + rng.random() * days * 86400
        lines.append(
            (
                moment,
                _line(
                    f"66.249.66.{number % 250}",
                    moment,
                    "GET",
                    rng.choice(pages).url,
                    rng.choice(CRAWLERS),
                ),
            )
        )
    for _ in range(visitors // 20):  # uptime probes
        moment = start + rng.random() * days * 86400
        lines.append((moment, _line("203.0.113.9", moment, "HEAD", "/", BROWSERS[0])))
    for number in range(3):  # what real logs also contain
        moment = start + rng.random() * days * 86400
        lines.append((moment, f"garbled line {number} \x00 from a log rotation"))
    return lines


def _matches(url: str, glob: str) -> bool:
    from generator.personalize.variants import url_matches

    return url_matches(url, (glob,))


def write_simulated_log(path: Path, lines: Iterator[str]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as stream:
        for line in lines:
            stream.write(line + "\n")
            count += 1
    return count
