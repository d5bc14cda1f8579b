"""Protected sections (issue 15): pages only some users may read, behind the web server's
login, and in nothing public: no listing, tag page, feed, sitemap, recommendation or
prefetch list, on no site of the network."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import bcrypt
import pytest

from tests.conftest import Result, edit
from tests.test_users import USERS

PASSWORDS = {"ana": "ana-secret-pw", "ben": "ben-secret-pw", "cleo": "cleo-secret-pw"}
SECRETS = ("Partner Briefing", "owl flies at midnight", "/news/briefing/", "World news")

BRIEFING = """---
title: Partner Briefing
date: 2026-06-01
tags: [news, red]
access: members
---
The owl flies at midnight.
"""

PROTECTION = """auth:
  user_file: /srv/auth/network
  realm: Northwind members
protected:
  - path: /news/world/**
    roles: [partner]
"""


def with_passwords(text: str) -> str:
    for id, password in PASSWORDS.items():
        digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(12)).decode()
        text = text.replace(f"  {id}:\n", f'  {id}:\n    password_hash: "{digest}"\n', 1)
    return text


@pytest.fixture(scope="module")
def users_text() -> str:
    return with_passwords(USERS)


@pytest.fixture
def protected(project: Path, users_text: str) -> Path:
    (project / "users.yaml").write_text(users_text)
    (project / "content/news/briefing.md").write_text(BRIEFING)
    root = project / "sites/root/site.yaml"
    root.write_text(root.read_text() + PROTECTION)
    return project


def public_files(site: Path) -> dict[str, bytes]:
    """Every file a visitor without a login can fetch: not under a folder whose .htaccess
    asks for one, and not a .ht file (which Apache never serves)."""
    closed = [
        path.parent for path in site.rglob(".htaccess") if b"AuthType Basic" in path.read_bytes()
    ]
    return {
        str(path.relative_to(site)): path.read_bytes()
        for path in site.rglob("*")
        if path.is_file()
        and not path.name.startswith(".ht")
        and not any(folder in path.parents for folder in closed)
    }


def test_protected_pages_are_built_behind_a_login_and_nowhere_else(
    protected: Path, sitegen: Callable[..., Result]
) -> None:
    built = sitegen(protected, "build")
    assert built.code == 0, built.err
    brand = protected / "build/brand"
    page = (brand / "news/briefing/index.html").read_text()
    assert "The owl flies at midnight." in page
    rules = (brand / "news/briefing/.htaccess").read_text()
    assert "AuthType Basic\n" in rules
    assert 'AuthName "Northwind members"\n' in rules
    assert 'AuthUserFile "/srv/auth/network"\n' in rules
    # members: ana (admin), ben (author on brand), cleo (partner inherits member).
    assert "Require user ana ben cleo\n" in rules
    # A role the network added: only those who hold it (an admin does not inherit it).
    assert "Require user cleo\n" in (brand / "news/world/.htaccess").read_text()
    # The password file is private: only the readers, as Apache's bcrypt.
    lines = (protected / "build/.sitegen/sites/brand/htpasswd").read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["ana", "ben", "cleo"]
    for line in lines:
        id, digest = line.split(":", 1)
        assert digest.startswith("$2y$12$")
        assert bcrypt.checkpw(PASSWORDS[id].encode(), digest.replace("$2y$", "$2b$").encode())
    # Nothing public names or quotes them, on any site.
    for site in ("brand", "region", "other"):
        for path, data in public_files(protected / "build" / site).items():
            text = data.decode("utf-8", "replace")
            for secret in SECRETS:
                assert secret not in text, f"{site}/{path} leaks {secret!r}"
    assert not list(protected.glob("build/*/.htpasswd")) + list(protected.glob("build/*/htpasswd"))
    # Listings, tags, feed and sitemap still list the public pages.
    assert "/news/hello/" in (brand / "sitemap.xml").read_text()
    assert "Hello" in (brand / "news/index.html").read_text()


def test_grants_decide_who_may_read_on_each_site(
    protected: Path, sitegen: Callable[..., Result]
) -> None:
    edit(protected / "users.yaml", "      other: none\n", "      other: none\n      region: none\n")
    assert sitegen(protected, "build").code == 0
    region = protected / "build/region"
    assert "Require user ana cleo\n" in (region / "news/briefing/.htaccess").read_text()
    lines = (protected / "build/.sitegen/sites/region/htpasswd").read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["ana", "cleo"]
    # Staging: ben publishes brand there, and still reads as an author.
    assert (
        "Require user ana ben cleo\n"
        in (protected / "build/brand/news/briefing/.htaccess").read_text()
    )


def test_a_page_can_be_exempted_and_a_reader_without_password_is_named(
    protected: Path, sitegen: Callable[..., Result]
) -> None:
    world = protected / "content/news/world.md"
    world.write_text(world.read_text().replace("---\n", "---\naccess: public\n", 1))
    text = (protected / "users.yaml").read_text()
    (protected / "users.yaml").write_text(
        re.sub(r'  ben:\n    password_hash: "[^"]*"\n', "  ben:\n", text)
    )
    built = sitegen(protected, "build", "brand")
    assert built.code == 0, built.err
    brand = protected / "build/brand"
    assert not (brand / "news/world/.htaccess").exists()
    assert "World news" in (brand / "news/world/index.html").read_text()
    assert "Require user ana cleo\n" in (brand / "news/briefing/.htaccess").read_text()
    assert (
        "ben may read protected pages of brand but has no password (sitegen users passwd ben)"
        in built.err
    )


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "content/news/briefing.md",
            "access: members\n",
            "access: memebrs\n",
            r"content/news/briefing.md:5: access: unknown role 'memebrs' \(did you mean "
            "'member'",
        ),
        (
            "content/news/briefing.md",
            "access: members\n",
            "access: {roles: []}\n",
            r"content/news/briefing.md:5: front matter 'access': expected a role",
        ),
        (
            "sites/root/site.yaml",
            "  user_file: /srv/auth/network\n",
            "",
            r"content/news/briefing.md:5: page /news/briefing/ of site 'brand' is protected "
            r"\(from here\), but the site has no auth.user_file",
        ),
        (
            "sites/root/site.yaml",
            "    roles: [partner]\n",
            "    roles: [partners, guest]\n",
            r"sites/root/site.yaml:\d+: access: unknown role 'guest'",
        ),
    ],
)
def test_bad_protection_is_an_error_at_its_line_and_builds_nothing(
    protected: Path,
    sitegen: Callable[..., Result],
    file: str,
    old: str,
    new: str,
    expected: str,
) -> None:
    edit(protected / file, old, new)
    failed = sitegen(protected, "build")
    assert failed.code == 1
    assert re.search(expected, failed.err), failed.err
    assert not (protected / "build/brand").exists()
