"""Fast-pages benchmark: the image pipeline's throughput, and how a build with images and
lazy components grows from 1,000 to 5,000 pages (it should be linear).

    python bench/pages.py                     # 20 photos, 1,000 to 5,000 pages
    python bench/pages.py --sizes 500 1000 --photos 5

Every page shows one of the photos (a <picture> with AVIF, WebP and JPEG renditions) and
places a lazy component. Each timed build is a cold build of a fresh corpus whose image
cache an untimed build filled, so that page counts alone vary.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from corpus import generate_pages, write_sitegen  # noqa: E402

SITEGEN = str(Path(sys.executable).with_name("sitegen"))


def photo(path: Path, seed: int, size: tuple[int, int] = (1600, 1067)) -> None:
    """A landscape-like photo: sky gradient, a sun, layered ridges, grain."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    top = tuple(rng.randrange(120, 255) for _ in range(3))
    bottom = tuple(rng.randrange(60, 200) for _ in range(3))
    for y in range(height):
        t = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(top[i] * (1 - t) + bottom[i] * t) for i in range(3)),
        )
    x, y = rng.randrange(width), rng.randrange(height // 3)
    draw.ellipse([x - 50, y - 50, x + 50, y + 50], fill=(255, 240, 200))
    for layer in range(3):
        level = int(height * (0.45 + 0.15 * layer))
        points = [(0, height)]
        for step in range(0, width + 40, 40):
            level = max(height // 3, min(height - 10, level + rng.randrange(-30, 31)))
            points.append((step, level))
        points.append((width, height))
        draw.polygon(points, fill=tuple(rng.randrange(20, 120) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(1))
    noise = Image.effect_noise(size, 12).convert("RGB")
    Image.blend(image, noise, 0.06).save(path, "JPEG", quality=88)


def corpus(root: Path, pages: int, photos: int) -> None:
    found = [
        replace(
            page,
            body=page.body + f"\n\n![A view from the trail](/images/photo-{index % photos}.jpg)\n",
        )
        for index, page in enumerate(generate_pages(pages))
    ]
    write_sitegen(found, root)
    theme = root / "themes/minimal"
    (theme / "images").mkdir()
    for index in range(photos):
        shutil.copy(
            ROOT / "bench/work/pages/photos" / f"photo-{index}.jpg",
            theme / "images" / f"photo-{index}.jpg",
        )
    (theme / "templates/components").mkdir()
    (theme / "templates/components/more.html").write_text(
        "<aside><h2>More from {{ site.title }}</h2><p>Routes, repairs and gear.</p></aside>\n"
    )
    page = theme / "templates/page.html"
    page.write_text(
        page.read_text()
        .replace("</title></head>", "</title>{{ sitegen_head() }}</head>")
        .replace("</article>", '</article>{{ lazy("more", height="8rem") }}')
        .replace("</body>", "{{ sitegen_footer() }}</body>")
    )


def image_throughput(photos: int) -> None:
    from generator.assets.images import responsive_set
    from generator.config.settings import ImageSettings
    from generator.config.site_schema import SITE_SCHEMA

    folder = ROOT / "bench/work/pages/photos"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for index in range(photos):
        photo(folder / f"photo-{index}.jpg", index)
    settings = ImageSettings.from_values(SITE_SCHEMA.fields["images"].defaults())  # type: ignore[attr-defined]
    source_bytes = renditions = output_bytes = 0
    started = time.perf_counter()
    for path in sorted(folder.glob("*.jpg")):
        data = path.read_bytes()
        image_set, files = responsive_set(f"images/{path.name}", data, settings)
        source_bytes += len(data)
        renditions += len(files)
        output_bytes += sum(map(len, files.values()))
    seconds = time.perf_counter() - started
    print(
        f"image pipeline, one core: {photos} photos of 1600x1067 ({source_bytes / 1e6:.1f} "
        f"MB of JPEG) -> {renditions} renditions ({output_bytes / 1e6:.1f} MB) in "
        f"{seconds:.1f} s: {photos / seconds:.2f} photos/s, {renditions / seconds:.1f} "
        "renditions/s (AVIF, WebP and JPEG at 5 widths)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 3000, 4000, 5000])
    parser.add_argument("--photos", type=int, default=20)
    arguments = parser.parse_args()
    image_throughput(arguments.photos)
    cache = ROOT / "bench/work/pages/cache"
    shutil.rmtree(cache, ignore_errors=True)
    root = ROOT / "bench/work/pages/site"
    # An untimed build fills the image cache, which every timed build then starts from.
    corpus(root, 50, arguments.photos)
    subprocess.run([SITEGEN, "--root", str(root), "build", "--quiet"], check=True)
    shutil.copytree(root / "build/.sitegen/cache/images", cache / "images")
    rows = []
    for size in arguments.sizes:
        corpus(root, size, arguments.photos)
        shutil.copytree(cache, root / "build/.sitegen/cache")
        started = time.perf_counter()
        subprocess.run([SITEGEN, "--root", str(root), "build", "--quiet"], check=True)
        seconds = time.perf_counter() - started
        rows.append((size, seconds))
        print(f"  {size} pages: {seconds:.2f} s", file=sys.stderr)
    print("\n| pages | cold build s | ms per page |")
    print("|---|---|---|")
    for size, seconds in rows:
        print(f"| {size} | {seconds:.2f} | {seconds / size * 1000:.2f} |")
    if len(rows) > 1:
        (small, first), (large, last) = rows[0], rows[-1]
        print(f"\n{large / small:.1f}× the pages took {last / first:.2f}× the time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
