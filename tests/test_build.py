"""The output tree: manifest, version id, determinism, assets with SRI, stale files."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

from generator.manifest import FileEntry, version_of
from tests.conftest import Result, edit, tree


def test_manifest_lists_every_published_file_with_hash_size_kind(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build").code == 0
    site = project / "build/brand"
    manifest = json.loads((project / "build/.sitegen/sites/brand/manifest.json").read_text())
    files = tree(site)
    assert set(manifest["files"]) == set(files)
    for path, data in files.items():
        entry = manifest["files"][path]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
    kinds = {path: entry["kind"] for path, entry in manifest["files"].items()}
    assert kinds["articles/alpha/index.html"] == "page"
    assert kinds["feed.xml"] == "data"
    assert kinds["favicon.txt"] == "asset"
    assert any(kind == "asset" and path.endswith(".css") for path, kind in kinds.items())
    canonical = json.dumps(manifest["files"], sort_keys=True, separators=(",", ":"))
    assert manifest["version"] == hashlib.sha256(canonical.encode()).hexdigest()
    snapshot = project / f"build/.sitegen/sites/brand/versions/{manifest['version']}.json"
    current = project / "build/.sitegen/sites/brand/manifest.json"
    assert snapshot.read_text() == current.read_text()
    assert not (project / "build/root").exists()  # abstract: never built
    assert not any(
        p.name.startswith(".") and p.name != ".htaccess"  # nothing private
        for p in site.rglob("*")
    )


def test_two_clean_builds_are_byte_identical(project: Path, sitegen: Callable[..., Result]) -> None:
    assert sitegen(project, "build", "--out", str(project / "one"), "--jobs", "1").code == 0
    assert sitegen(project, "build", "--out", str(project / "two"), "--jobs", "2").code == 0
    for site in ("brand", "region", "other"):
        assert tree(project / "one" / site) == tree(project / "two" / site)
    one = json.loads((project / "one/.sitegen/sites/brand/manifest.json").read_text())
    two = json.loads((project / "two/.sitegen/sites/brand/manifest.json").read_text())
    assert one["version"] == two["version"]


def test_assets_are_fingerprinted_minified_and_carry_sri(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build", "brand").code == 0
    site = project / "build/brand"
    html = (site / "index.html").read_text()
    links = re.findall(
        r'<(?:link rel="stylesheet" href|script src)="([^"]+)" '
        r'integrity="([^"]+)"',
        html,
    )
    assert len(links) == 2
    for url, integrity in links:
        data = (site / url.lstrip("/")).read_bytes()
        name = Path(url).name
        assert re.fullmatch(r"\w+\.[0-9a-f]{8}\.(css|js)", name)
        assert name.split(".")[1] == hashlib.sha256(data).hexdigest()[:8]
        assert integrity == "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    css = next(site.glob("assets/main.*.css")).read_text()
    assert "color:#803" in css  # the child theme's Sass variables won
    assert "\n  " not in css  # minified
    js = next(site.glob("assets/app.*.js")).read_text()
    assert "say hello" not in js  # comments stripped by the minifier
    manifest = json.loads((site / "assets/manifest.json").read_text())
    assert manifest["main.css"]["path"] == links[0][0]
    assert manifest["images/logo.svg"]["path"].startswith("/assets/images/logo.")


def test_files_that_no_longer_belong_are_removed(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build", "brand").code == 0
    assert (project / "build/brand/articles/gamma-ray/index.html").exists()
    (project / "content/articles/gamma.md").unlink()
    (project / "build/brand/stray.html").write_text("left over")
    assert sitegen(project, "build", "brand").code == 0
    assert not (project / "build/brand/articles/gamma-ray").exists()
    assert not (project / "build/brand/stray.html").exists()


def test_installed_command_runs_and_exits_2_on_usage_errors(project: Path) -> None:
    import subprocess
    import sys

    ok = subprocess.run(
        [sys.executable, "-m", "generator.cli", "--root", str(project), "build", "other"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "built 1 site(s)" in ok.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "generator.cli", "biuld"], capture_output=True, text=True
    )
    assert usage.returncode == 2


def test_config_show_explain(project: Path, sitegen: Callable[..., Result]) -> None:
    result = sitegen(project, "config", "show", "region", "--explain")
    assert result.code == 0
    assert "title: Region  # sites/region/site.yaml:2" in result.out
    assert "theme: fancy  # sites/brand/site.yaml:4" in result.out
    assert "  per_page: 2  # sites/root/site.yaml:5" in result.out
    assert "language: en  # default" in result.out
    plain = sitegen(project, "config", "show", "brand", "--env", "staging")
    assert "base_url: https://staging.brand.test/" in plain.out
    assert "#" not in plain.out.split("\n", 1)[1]
    missing = sitegen(project, "config", "show", "brnad")
    assert missing.code == 1 and "did you mean 'brand'" in missing.err


def test_manifest_version_is_order_independent() -> None:

    a = {"a": FileEntry("1", 1, "page"), "b": FileEntry("2", 2, "asset")}
    b = dict(reversed(list(a.items())))
    assert version_of(a) == version_of(b)
    assert version_of(a) != version_of({"a": FileEntry("1", 1, "page")})


def test_dependency_encoding_round_trips_even_with_separators() -> None:
    from generator.pipeline.state import decode_dependencies, encode_dependencies

    for dependencies in [
        (),
        (("page", "a#title", "Alpha"),),
        (("template", "page.html", "x:1"), ("config", "title", "T")),
        (("page", "odd\x1fname#title", "[x"), ("query", "recent", "\x1e")),
    ]:
        assert decode_dependencies(encode_dependencies(dependencies)) == dependencies


def test_a_site_that_is_no_longer_built_is_removed(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build").code == 0
    (project / "build/keep-me").mkdir()  # not sitegen's: left alone
    edit(project / "sites/other/site.yaml", "title: Other", "title: Other\nabstract: true")
    assert sitegen(project, "build", "brand").code == 0  # a partial build keeps it
    assert (project / "build/other/index.html").exists()
    assert sitegen(project, "build").code == 0
    assert not (project / "build/other").exists()
    assert not (project / "build/.sitegen/sites/other/manifest.json").exists()
    assert (project / "build/keep-me").exists()
    assert (project / "build/brand/index.html").exists()


def test_progress_is_a_bar_on_a_terminal_and_lines_in_ci(project: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    for number in range(40):  # enough pages to be worth a bar
        (project / f"content/news/n{number}.md").write_text(f"---\ntitle: N{number}\n---\nx\n")
    command = [
        sys.executable,
        "-m",
        "generator.cli",
        "--root",
        str(project),
        "build",
        "--jobs",
        "1",
    ]
    environment = {key: value for key, value in os.environ.items() if key != "CI"}
    leader, follower = pty.openpty()
    import fcntl
    import struct
    import termios

    # a terminal of 100 columns (a new pseudo-terminal has none, and a bar needs some)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(
        command, stdin=follower, stdout=follower, stderr=follower, env=environment
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert process.wait() == 0
    terminal = output.decode(errors="replace")
    assert "\r" in terminal and "file/s" in terminal  # tqdm redraws a bar
    plain = subprocess.run(
        command + ["--clean"], capture_output=True, text=True, env={**environment, "CI": "true"}
    )
    assert "rendering: " in plain.stderr and "\r" not in plain.stderr
    assert "built 3 site(s)" in plain.stdout
