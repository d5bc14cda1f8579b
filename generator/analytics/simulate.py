"""`sitegen analytics simulate`: the access log of virtual visitors walking a built site.

For a newcomer who has no traffic yet, and for testing the analytics end to end. Each
visitor's browser does what the runtime does, from what the built pages themselves carry
(their `sitegen-config`): a random visitor id and a visit id renewed after 30 minutes; the
segments of the same attributes (visits, utm, history of tags, device, language, hour);
sticky experiment arms by the same hashing; the variant taken from the page's own variant
table; the build version the page baked in; the goals it reports. Its pixel requests are
written as the runtime sends them (every field encoded like `encodeURIComponent`, the
browser's millisecond clock in `t`), views and page goals as GETs, clicks as `sendBeacon`
POSTs, so a simulated log and a real one go through the same ingest.

Visitors wander from an entry page through pages sharing a tag, some arrive from a
newsletter (utm_source), some come back; a page goal is reached and a goal's element clicked
at a base rate, which `lifts` raise for visitors exposed to an arm (a true effect to find).
Crawlers, HEAD probes and a few garbled lines are mixed in. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from generator.analytics.pixel import PIXEL_PATH
from generator.conditions import evaluate
from generator.config.model import SiteConfig
from generator.content.index import SiteContent
from generator.content.page import url_to_output_path
from generator.errors import ConfigError
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
WIDTHS = ((390, 0.4), (820, 0.1), (1440, 0.5))
"""Screen widths (mobile, tablet, desktop) and their shares."""
LANGUAGES = ("en-us", "en-gb", "de-de", "fr-fr")
PAGE_GOAL_RATE = 0.03
"""Chance that a visitor heads for an experiment's goal page after a page view."""
CLICK_RATE = 0.12
"""Chance that a visitor clicks a goal's element on a page that shows it."""
VISIT_GAP = 30 * 60
CONFIG = re.compile(r'<script type="application/json" id="sitegen-config">(.*?)</script>', re.S)
ENCODE_SAFE = "-_.!~*'()"
"""What `encodeURIComponent` leaves as it is."""


@dataclass(frozen=True)
class Lift:
    """Exposed visitors of `arm` reach `experiment`'s goals `1 + relative` times as often."""

    experiment: str
    arm: str
    relative: float

    @classmethod
    def parse(cls, text: str) -> Lift:
        """`experiment:arm=0.2`."""
        match = re.fullmatch(r"([a-z0-9_-]+):([a-z0-9_-]+)=(-?[0-9.]+)", text)
        if not match or float(match[3]) <= -1:
            raise ConfigError(
                f"--lift {text!r}: expected EXPERIMENT:ARM=RELATIVE, e.g. repair-cta:repair=0.2"
            )
        return cls(match[1], match[2], float(match[3]))


class BuiltSite:
    """The built pages of a site as a browser gets them: each file's `sitegen-config` and,
    for click goals, its HTML."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._configs: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._documents: dict[tuple[str, str], Any] = {}

    def _path(self, url: str, file: str) -> Path:
        relative = url_to_output_path(url)
        return self.directory / (f"_variants/{file}/{relative}" if file else relative)

    def html(self, url: str, file: str = "") -> str | None:
        try:
            return self._path(url, file).read_text(encoding="utf-8")
        except OSError:
            return None

    def config(self, url: str, file: str = "") -> dict[str, Any] | None:
        """The runtime's configuration in the page (None: no runtime, or no such page)."""
        if (url, file) not in self._configs:
            text = self.html(url, file)
            found = CONFIG.search(text) if text else None
            self._configs[url, file] = json.loads(found[1]) if found else None
        return self._configs[url, file]

    def shows(self, url: str, file: str, selector: str) -> bool:
        """Does the served file hold an element matching the CSS selector?"""
        if (url, file) not in self._documents:
            from bs4 import BeautifulSoup

            text = self.html(url, file) or ""
            self._documents[url, file] = BeautifulSoup(text, "html.parser")
        return self._documents[url, file].select_one(selector) is not None


@dataclass
class Browser:
    """What one visitor's browser keeps: cookies and local storage, as the runtime does."""

    visitor: str
    ip: str
    agent: str
    width: int
    language: str
    visits: int = 0
    history: list[str] = field(default_factory=list)
    arms: dict[str, str] = field(default_factory=dict)
    """Experiment key -> `<bucket version>.<arm>` (the sg_x_ cookies; '-' not enrolled)."""
    exposed: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Visit:
    id: str
    utm: dict[str, str]
    referrer: str
    """The hostname the visit came from ('' direct), as the runtime keeps it."""
    pages: int = 0
    previous: str = "-"
    """The Referer of the next request."""


@dataclass(frozen=True)
class PageView:
    """A page as the runtime ran it: the fields every event of the page carries, and the
    file that holds the visitor's variant ('' the default file)."""

    url: str
    config: dict[str, Any]
    fields: dict[str, str]
    file: str


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _line(ip: str, moment: float, method: str, target: str, agent: str, referrer: str = "-") -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(moment))
    size = 43 if target.startswith(f"/{PIXEL_PATH}") else 2048
    return f'{ip} - - [{stamp}] "{method} {target} HTTP/1.1" 200 {size} "{referrer}" "{agent}"'


def pixel_query(fields: Mapping[str, str]) -> str:
    """The runtime's query string: its fields in its order, each `encodeURIComponent`-ed."""
    return "&".join(f"{key}={quote(value, safe=ENCODE_SAFE)}" for key, value in fields.items())


def _segments(config: dict[str, Any], attributes: dict[str, Any]) -> list[str]:
    return sorted(
        id
        for id, condition in config.get("segments", {}).items()
        if evaluate(condition, attributes)
    )


def _variant(config: dict[str, Any], segments: list[str], arms: dict[str, str]) -> tuple[str, str]:
    """(key, file) of the first variant of the page's table the visitor fits."""
    for variant in config.get("page", {}).get("variants", []):
        if all(s in segments for s in variant["segments"]) and all(
            arms.get(key) == arm for key, arm in variant["arms"]
        ):
            return variant["key"], variant["file"]
    return "", ""


class Simulation:
    def __init__(
        self,
        site: SiteConfig,
        content: SiteContent,
        built: BuiltSite,
        rng: random.Random,
        lifts: tuple[Lift, ...],
    ) -> None:
        self.site = site
        self.built = built
        self.rng = rng
        self.lifts = lifts
        self.pages = [page.url for page in content.pages if built.config(page.url) is not None]
        if not self.pages:
            raise ConfigError(
                f"site '{site.name}': no built page carries the runtime (is it built, with "
                "analytics or personalization on?); run sitegen build first"
            )
        self.tags = {page.url: page.tags for page in content.pages}
        self.by_tag: dict[str, list[str]] = {}
        for url in self.pages:
            for tag in self.tags[url]:
                self.by_tag.setdefault(tag, []).append(url)
        self.host = f"https://{site.name}.example"
        self.lines: list[tuple[float, str]] = []

    # -- one page view, as the runtime runs it -------------------------------------------

    def _attributes(
        self, browser: Browser, visit: Visit, view: tuple[str, dict[str, str], float]
    ) -> dict[str, Any]:
        url, query, moment = view
        config = self.built.config(url) or {}
        width = browser.width
        return {
            **config.get("page", {}).get("attributes", {}),
            "path": url,
            "query": query,
            "utm": visit.utm,
            "referrer": visit.referrer,
            "visits": browser.visits,
            "pages": visit.pages,
            "history": list(browser.history),
            "device": "mobile" if width < 768 else "tablet" if width < 1024 else "desktop",
            "language": browser.language,
            "hour": time.gmtime(moment).tm_hour,
        }

    def _arms(self, browser: Browser, experiments: list[dict[str, Any]]) -> dict[str, str]:
        """Sticky arms, re-enrolled when the bucket version changes (runtime.js)."""
        arms = {}
        for experiment in experiments:
            version = str(experiment["bucketVersion"])
            saved = browser.arms.get(experiment["key"], "").split(".")
            arm = saved[1] if len(saved) == 2 and saved[0] == version else None
            if arm is None:
                namespace = experiment.get("namespace")
                index = assign(
                    browser.visitor,
                    experiment["key"],
                    experiment["arms"],
                    weights=experiment["weights"],
                    coverage=experiment["coverage"],
                    seed=experiment.get("seed"),
                    hash_version=experiment.get("hashVersion", 2),
                    namespace=(namespace[0], namespace[1], namespace[2]) if namespace else None,
                )
                arm = "-" if index < 0 else experiment["names"][index]
            browser.arms[experiment["key"]] = f"{version}.{arm}"
            if arm != "-":
                arms[experiment["key"]] = arm
        return arms

    def view(
        self, browser: Browser, visit: Visit, url: str, moment: float, query: dict[str, str]
    ) -> tuple[PageView, float]:
        """Request the page, run the runtime, send its pixel requests."""
        config = self.built.config(url) or {}
        visit.pages += 1
        target = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        self.lines.append(
            (moment, _line(browser.ip, moment, "GET", target, browser.agent, visit.previous))
        )
        visit.previous = self.host + url
        segments = _segments(config, self._attributes(browser, visit, (url, query, moment)))
        browser.history = list(dict.fromkeys(browser.history + list(self.tags.get(url, ()))))[-50:]
        arms = self._arms(browser, config.get("experiments", []))
        wanted, file = _variant(config, segments, arms)
        on_page = {
            pair[0]
            for variant in config.get("page", {}).get("variants", [])
            for pair in variant["arms"]
        }
        browser.exposed.update((key, arm) for key, arm in arms.items() if key in on_page)
        fields = {
            "p": url,
            "v": wanted,
            "b": config.get("page", {}).get("build", ""),
            "u": browser.visitor,
            "s": visit.id,
            "g": ".".join(segments),
            "m": query.get("utm_source", ""),
        }
        page = PageView(url, config, fields, file)
        moment += self.rng.uniform(0.3, 1.5)  # the page loads, then the runtime sends
        self._send(browser, page, "view", "", moment)
        for goal in config.get("track", {}).get("goals", []):
            if goal.get("page") == url:
                moment += 0.002
                self._send(browser, page, "goal", f"{goal['experiment']}:{goal['id']}", moment)
        return page, moment

    def _send(
        self, browser: Browser, page: PageView, kind: str, detail: str, moment: float
    ) -> None:
        fields = page.fields
        query = pixel_query(
            {
                "e": kind,
                "p": fields["p"],
                "v": fields["v"],
                "b": fields["b"],
                "u": fields["u"],
                "s": fields["s"],
                "x": detail,
                "g": fields["g"],
                "t": str(int(moment * 1000)),
                **({"m": fields["m"]} if kind == "view" and fields["m"] else {}),
            }
        )
        # A view is an image request; the runtime sends the rest with sendBeacon (a POST,
        # delivered even when the page is left).
        method = "GET" if kind == "view" else "POST"
        self.lines.append(
            (
                moment,
                _line(
                    browser.ip,
                    moment,
                    method,
                    f"/{PIXEL_PATH}?{query}",
                    browser.agent,
                    self.host + page.url,
                ),
            )
        )

    # -- visitors ------------------------------------------------------------------------

    def _rate(self, browser: Browser, experiment: str, rate: float) -> float:
        """A goal's base rate, raised for a visitor exposed to a lifted arm."""
        for lift in self.lifts:
            if lift.experiment == experiment and (experiment, lift.arm) in browser.exposed:
                return rate * (1 + lift.relative)
        return rate

    def _next(self, url: str) -> str:
        related = [
            other for tag in self.tags.get(url, ()) for other in self.by_tag[tag] if other != url
        ]
        if related and self.rng.random() < 0.7:
            return self.rng.choice(related)
        return self.rng.choice(self.pages)

    def visitor(self, start: float, days: int) -> None:
        rng = self.rng
        width = rng.choices([w for w, _ in WIDTHS], [share for _, share in WIDTHS])[0]
        browser = Browser(
            _hex(rng),
            f"198.51.{rng.randrange(100)}.{rng.randrange(1, 255)}",
            rng.choice(BROWSERS),
            width,
            rng.choice(LANGUAGES),
        )
        count = 1 + (rng.random() < 0.35) * rng.randrange(1, 4)
        starts = sorted(start + rng.random() * days * 86400 for _ in range(count))
        ends = 0.0
        for moment in starts:
            # Visits at least 30 minutes apart: each is a new visit for the runtime.
            ends = self.visit(browser, max(moment, ends + VISIT_GAP + 60))

    def visit(self, browser: Browser, moment: float) -> float:
        """One visit from `moment`; when it ended."""
        rng = self.rng
        browser.visits += 1
        newsletter = rng.random() < 0.15
        visit = Visit(_hex(rng), {"source": "newsletter"} if newsletter else {}, "")
        url = "/" if rng.random() < 0.4 and "/" in self.tags else rng.choice(self.pages)
        for step in range(rng.randrange(1, 7)):
            query = {"utm_source": "newsletter"} if newsletter and step == 0 else {}
            page, moment = self.view(browser, visit, url, moment, query)
            moment += rng.uniform(5, 120)
            self._click(browser, page, moment)
            # After each page, the visitor may head for a goal page (likelier once exposed
            # to a lifted arm), else wanders on.
            heading = [
                goal["page"]
                for goal in page.config.get("track", {}).get("goals", [])
                if goal.get("page")
                and goal["page"] != url
                and rng.random() < self._rate(browser, goal["experiment"], PAGE_GOAL_RATE)
            ]
            url = heading[0] if heading else self._next(url)
            moment += rng.uniform(1, 60)
        return moment

    def _click(self, browser: Browser, page: PageView, moment: float) -> None:
        """Maybe click an experiment's goal element, where the served file shows one."""
        for goal in page.config.get("track", {}).get("goals", []):
            selector = goal.get("click")
            if not selector or not self.built.shows(page.url, page.file, selector):
                continue
            if self.rng.random() < self._rate(browser, goal["experiment"], CLICK_RATE):
                self._send(browser, page, "click", f"{goal['experiment']}:{goal['id']}", moment)


def simulate(
    site: SiteConfig,
    content: SiteContent,
    built: Path,
    visitors: int = 400,
    days: int = 14,
    seed: int = 2026,
    start: float = 1780000000.0,
    lifts: tuple[Lift, ...] = (),
) -> Iterator[str]:
    """Access-log lines for `site` from its build in `built`, in time order."""
    rng = random.Random(f"{seed}:{site.name}")
    simulation = Simulation(site, content, BuiltSite(built), rng, lifts)
    for _ in range(visitors):
        simulation.visitor(start, days)
    lines = simulation.lines + _noise(rng, simulation.pages, visitors, start, days)
    for _, text in sorted(lines):
        yield text


def _noise(
    rng: random.Random, pages: list[str], visitors: int, start: float, days: int
) -> list[tuple[float, str]]:
    """What real logs hold besides visitors: crawlers, uptime probes, garbled lines."""
    lines = []
    for number in range(visitors // 4):  # crawlers walk everything
        moment = start + rng.random() * days * 86400
        agent = rng.choice(CRAWLERS)
        lines.append(
            (moment, _line(f"66.249.66.{number % 250}", moment, "GET", rng.choice(pages), agent))
        )
    for _ in range(visitors // 20):  # uptime probes
        moment = start + rng.random() * days * 86400
        lines.append((moment, _line("203.0.113.9", moment, "HEAD", "/", BROWSERS[0])))
    for number in range(3):  # what real logs also contain
        moment = start + rng.random() * days * 86400
        lines.append((moment, f"garbled line {number} \x00 from a log rotation"))
    return lines


def write_simulated_log(path: Path, lines: Iterator[str]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as stream:
        for line in lines:
            stream.write(line + "\n")
            count += 1
    return count
