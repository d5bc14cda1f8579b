"""Responsive images: renditions, markup, EXIF, the shared cache, and the candidate a narrow
viewport fetches in headless Chromium behind a real Apache."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from generator.config.settings import ImageSettings
from tests.apache import apache
from tests.browser import CHROMIUM_FLAGS, chromium
from tests.conftest import Result, edit


def photo(path: Path, size: tuple[int, int], orientation: int | None = None) -> None:
    """A JPEG with a gradient (so sizes differ by width), camera EXIF and an orientation."""
    image = Image.new("RGB", size)
    image.putdata(
        [
            (x * 255 // size[0], y * 255 // size[1], 128)
            for y in range(size[1])
            for x in range(size[0])
        ]
    )
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS
    if orientation:
        exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", exif=exif.tobytes(), quality=90)


@pytest.fixture
def pictured(project: Path) -> Path:
    images = project / "themes/plain/images"
    photo(images / "hill.jpg", (1200, 800), orientation=6)  # shot rotated: 800 x 1200
    photo(images / "small.jpg", (300, 200))
    edit(
        project / "content/articles/alpha.md",
        "Alpha body text.",
        "Alpha body text.\n\n![A hill at dawn](/images/hill.jpg)\n\n"
        "![A small one](/images/small.jpg)\n\n![The hill again](/images/hill.jpg)",
    )
    return project


def test_renditions_markup_and_exif(pictured: Path, sitegen: Callable[..., Result]) -> None:
    assert sitegen(pictured, "build", "brand").code == 0
    site = pictured / "build/brand"
    html = (site / "articles/alpha/index.html").read_text()
    pictures = re.findall(r"<picture>.*?</picture>", html)
    assert len(pictures) == 3
    first, small, again = pictures
    assert '<source type="image/avif"' in first and '<source type="image/webp"' in first
    assert 'width="800" height="1200"' in first  # orientation applied
    assert 'fetchpriority="high"' in first and 'loading="lazy"' not in first
    assert 'loading="lazy"' in again and 'decoding="async"' in again
    assert "fetchpriority" not in again  # only the first large one
    assert 'alt="A hill at dawn"' in first
    widths = sorted({int(w) for w in re.findall(r" (\d+)w", first)})
    assert widths == [320, 640, 800]  # never upscaled
    assert re.findall(r" (\d+)w", small) == ["300"] * 3  # one width, three formats
    assert 'loading="lazy"' in small  # not large: lazy
    assert "background:url(data:image/webp;base64," in first
    for url in set(re.findall(r"(/assets/images/[^\s\"]+)", first)):
        data = (site / url.lstrip("/")).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif(), url  # metadata dropped
            assert image.width in (320, 640, 800)
            assert image.width < image.height  # upright
    # The page's policy allows the placeholders' style attributes by hash, nothing more.
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None
    assert "style-src &#39;self&#39; &#39;unsafe-hashes&#39; &#39;sha256-" in policy.group(1)


def test_images_are_processed_once_across_builds_and_sites(
    pictured: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.assets.images as images

    calls: list[str] = []
    real = images._process

    def counting(stem: str, data: bytes, settings: ImageSettings) -> object:
        calls.append(stem)
        return real(stem, data, settings)

    monkeypatch.setattr(images, "_process", counting)
    assert sitegen(pictured, "build").code == 0  # every site uses the theme
    assert sorted(calls) == ["images/hill", "images/small"]  # once for the network
    assert sitegen(pictured, "build", "--clean").code == 0
    assert sorted(calls) == ["images/hill", "images/small"]  # from the cache
    edit(pictured / "sites/brand/site.yaml", "menu+:", "images:\n  widths: [200, 400]\nmenu+:")
    assert sitegen(pictured, "build", "brand").code == 0
    assert len(calls) == 4  # new parameters: again
    html = (pictured / "build/brand/articles/alpha/index.html").read_text()
    assert sorted({int(w) for w in re.findall(r" (\d+)w", html)}) == [200, 300, 400]


def test_the_viewport_picks_the_candidate(pictured: Path, sitegen: Callable[..., Result]) -> None:
    edit(pictured / "sites/brand/site.yaml", "menu+:", "images:\n  sizes: 100vw\nmenu+:")
    assert sitegen(pictured, "build", "brand").code == 0
    fetched = {}
    # Headless Chromium's narrowest window is 500 px: 100vw = 500 px takes the 640 w file;
    # a wide window takes the widest one there is (800 w, the source's own width).
    for width in (500, 1400):
        with apache(pictured / "build/brand") as base, tempfile.TemporaryDirectory() as profile:
            result = subprocess.run(
                [
                    chromium(),
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    f"--window-size={width},900",
                    "--force-device-scale-factor=1",
                    "--virtual-time-budget=4000",
                    "--dump-dom",
                    f"{base}/articles/alpha/",
                ],
                capture_output=True,
                text=True,
                timeout=90,
            )
            assert result.returncode == 0, result.stderr[-2000:]
            log = base.access_log.read_text()
        fetched[width] = set(re.findall(r"GET /assets/images/(hill-\d+)\.[0-9a-f]+\.(\w+) ", log))
    assert fetched[500] == {("hill-640", "avif")}, fetched  # the best format it takes
    assert fetched[1400] == {("hill-800", "avif")}, fetched


def test_a_broken_image_is_a_build_error(pictured: Path, sitegen: Callable[..., Result]) -> None:
    assert sitegen(pictured, "build", "brand").code == 0
    before = (pictured / "build/brand/articles/alpha/index.html").read_bytes()
    (pictured / "themes/plain/images/broken.jpg").write_bytes(b"\xff\xd8not really a jpeg")
    result = sitegen(pictured, "build", "brand")
    assert result.code == 1
    assert "themes/plain/images/broken.jpg" in result.err
    assert "not a readable JPG image" in result.err
    assert (pictured / "build/brand/articles/alpha/index.html").read_bytes() == before


def test_svg_images_get_their_intrinsic_size(project: Path, sitegen: Callable[..., Result]) -> None:
    """An <img> of an SVG without width and height would move the page when it loads (CLS
    0.10 on a demo page with a lead image): the build gives it the SVG's own size."""
    images = project / "themes/plain/images"
    images.mkdir(parents=True, exist_ok=True)
    (images / "ridge.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" '
        'viewBox="0 0 640 240"><rect width="640" '
        'height="240"/></svg>'
    )
    (images / "mark.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="48px" height="20" viewBox="0 0 96 40"/>'
    )
    (images / "free.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="100%"/>')
    edit(
        project / "content/articles/alpha.md",
        "Alpha body text.",
        "Alpha body text.\n\n![Ridge](/images/ridge.svg)\n\n![Mark](/images/mark.svg)\n\n"
        "![Free](/images/free.svg)\n\n"
        '<img src="/images/ridge.svg" width="320" height="120" alt="sized">',
    )
    assert sitegen(project, "build", "brand").code == 0
    page = (project / "build/brand/articles/alpha/index.html").read_text()
    tags = re.findall(r"<img [^>]*>", page)
    ridge = next(tag for tag in tags if 'alt="Ridge"' in tag)
    assert 'width="640" height="240"' in ridge
    assert 'width="48" height="20"' in next(tag for tag in tags if 'alt="Mark"' in tag)
    assert "width=" not in next(tag for tag in tags if 'alt="Free"' in tag)  # no size known
    sized = next(tag for tag in tags if 'alt="sized"' in tag)
    assert 'width="320" height="120"' in sized and "640" not in sized  # the author's own
    # and each names the published, fingerprinted file
    assert all(
        re.search(r'src="/assets/images/\w+\.[0-9a-f]{8}\.svg"', tag) for tag in (ridge, sized)
    )
