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


def with_protection(project: Path, users_text: str, config: str = PROTECTION) -> Path:
    """The network with users (passwords set), a members-only page and `config`."""
    (project / "users.yaml").write_text(users_text)
    (project / "content/news/briefing.md").write_text(BRIEFING)
    root = project / "sites/root/site.yaml"
    root.write_text(root.read_text() + config)
    return project


@pytest.fixture
def protected(project: Path, users_text: str) -> Path:
    return with_protection(project, users_text)


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
    # brand keeps ben's grant; on staging he publishes it too, and still reads.
    assert (
        "Require user ana ben cleo\n"
        in (protected / "build/brand/news/briefing/.htaccess").read_text()
    )
    staging = protected / "staging"
    assert sitegen(protected, "build", "brand", "--env", "staging", "--out", str(staging)).code == 0
    assert "Require user ana ben cleo\n" in (staging / "brand/news/briefing/.htaccess").read_text()


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


def get(url: str, user: str | None = None, password: str | None = None) -> tuple[int, str, str]:
    """Status, WWW-Authenticate and body of a GET, with Basic credentials if given."""
    import base64
    import urllib.error
    import urllib.request

    headers = {}
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, "", response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        challenge = error.headers.get("WWW-Authenticate") or ""
        return error.code, challenge, error.read().decode("utf-8", "replace")


def test_apache_asks_for_a_login_and_lets_in_only_the_readers(
    protected: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    from tests.apache import DEBIAN_DEFAULT, apache

    auth = tmp_path / "auth"  # outside both web roots, as on a host
    edit(protected / "sites/root/site.yaml", "/srv/auth/network", f"{auth}/{{site}}")
    edit(protected / "users.yaml", "      other: none\n", "      other: none\n      region: none\n")
    assert sitegen(protected, "build").code == 0
    auth.mkdir()
    for site in ("brand", "region"):  # what deploy puts at the target's htpasswd
        (auth / site).write_bytes(
            (protected / f"build/.sitegen/sites/{site}/htpasswd").read_bytes()
        )
    # A fresh Debian Apache's modules; .htaccess allowed, as shared hosts do.
    with (
        apache(protected / "build/brand", DEBIAN_DEFAULT) as brand,
        apache(protected / "build/region", DEBIAN_DEFAULT) as region,
    ):
        status, challenge, body = get(f"{brand}/news/briefing/")
        assert status == 401 and challenge == 'Basic realm="Northwind members"'
        assert "owl" not in body
        status, _, body = get(f"{brand}/news/briefing/", "ana", PASSWORDS["ana"])
        assert status == 200 and "The owl flies at midnight." in body
        # One password for the network: the same login on another site.
        assert get(f"{region}/news/briefing/", "ana", PASSWORDS["ana"])[0] == 200
        assert get(f"{brand}/news/briefing/", "ana", "wrong password")[0] == 401
        # ben reads as an author on brand; his grant is revoked on region, a child of it.
        assert get(f"{brand}/news/briefing/", "ben", PASSWORDS["ben"])[0] == 200
        assert get(f"{region}/news/briefing/", "ben", PASSWORDS["ben"])[0] == 401
        # A partner page: cleo holds the role; an admin does not inherit it.
        assert get(f"{brand}/news/world/", "cleo", PASSWORDS["cleo"])[0] == 200
        assert get(f"{brand}/news/world/", "ana", PASSWORDS["ana"])[0] == 401
        assert get(f"{brand}/news/world/index.html")[0] == 401  # the file's own URL too
        assert get(f"{brand}/news/hello/")[0] == 200  # public pages stay public
        # A crawl of every file without a login: what is served names nothing protected.
        for site, base in (("brand", brand), ("region", region)):
            for path in sorted((protected / "build" / site).rglob("*")):
                if not path.is_file():
                    continue
                relative = path.relative_to(protected / "build" / site).as_posix()
                status, _, body = get(f"{base}/{relative}")
                if status == 200:
                    for secret in SECRETS:
                        assert secret not in body, f"{site}/{relative} serves {secret!r}"
        assert get(f"{brand}/news/briefing/.htaccess")[0] in (403, 404)


def test_deploy_puts_the_password_file_outside_the_web_root(
    deployable: tuple[Path, Path],
    users_text: str,
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.conftest import jsonl

    project, remote = deployable
    home = remote.parent
    with_protection(project, users_text)
    monkeypatch.setenv("SITEGEN_USER", "ana")
    assert sitegen(project, "build", "brand").code == 0
    deploy = ("deploy", "brand", "--target", "production", "--yes")
    refused = sitegen(project, *deploy)
    assert refused.code == 1
    assert "target 'production' does not say where their password file goes" in refused.err
    assert not any(remote.iterdir())
    site = project / "sites/brand/site.yaml"
    edit(site, "/www\n", "/www\n    htpasswd: /www/.htpasswd\n")
    inside = sitegen(project, *deploy)
    assert inside.code == 1
    assert re.search(
        r"sites/brand/site.yaml:\d+: targets.production.htpasswd: '/www/.htpasswd' is inside "
        "the web root '/www'",
        inside.err,
    )
    edit(site, "htpasswd: /www/.htpasswd", "htpasswd: /private/{site}")
    done = sitegen(project, *deploy)
    assert done.code == 0, done.err
    local = project / "build/.sitegen/sites/brand/htpasswd"
    assert (home / "private/brand").read_bytes() == local.read_bytes()
    assert "password file: uploaded /private/brand" in done.out + done.err
    for path in remote.rglob("*"):
        if path.is_file():
            assert b"$2y$" not in path.read_bytes(), path  # no hash in the web root
    entries = jsonl(remote / ".sitegen-state/journal.jsonl")
    assert {tuple(e.get("password_files", ())) for e in entries} == {("/private/brand",)}
    # A new password changes no page: the next deploy sends the password file alone.
    text = (project / "users.yaml").read_text()
    digest = bcrypt.hashpw(b"cleo-new-password", bcrypt.gensalt(12)).decode()
    text = re.sub(r'(  cleo:\n    password_hash: )"[^"]*"', f'\\1"{digest}"', text)
    (project / "users.yaml").write_text(text)
    assert sitegen(project, "build", "brand").code == 0
    dry = sitegen(project, "deploy", "brand", "--target", "production", "--dry-run")
    assert "password file: would upload /private/brand" in dry.out + dry.err
    again = sitegen(project, *deploy)
    assert again.code == 0, again.err
    assert "nothing to do" in again.out
    assert digest.replace("$2b$", "$2y$") in (home / "private/brand").read_text()


@pytest.mark.parametrize(
    ("login", "allow_override"), [("basic", "All"), ("basic", "None"), ("form", "All")]
)
def test_the_deploy_checks_that_the_host_asks_for_the_login(
    deployable: tuple[Path, Path],
    users_text: str,
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    login: str,
    allow_override: str,
) -> None:
    from tests.apache import DEBIAN_DEFAULT, SESSION_MODULES, apache

    project, remote = deployable
    home = remote.parent
    if login == "basic":
        config = PROTECTION.replace("/srv/auth/network", f"{home}/private/{{site}}")
    else:  # a protected page sends the visitor to the login page: that is asking too
        config = SSO.format(auth=f"{home}/private").replace("network.test", "brand.test")
        monkeypatch.setenv("SITEGEN_SESSION_PASSPHRASE", "p" * 40)
    with_protection(project, users_text, config)
    monkeypatch.setenv("SITEGEN_USER", "ana")
    with apache(remote, DEBIAN_DEFAULT + SESSION_MODULES, allow_override) as served:
        edit(
            project / "sites/brand/site.yaml",
            "/www\n",
            f"/www\n    htpasswd: /private/{{site}}\n    check_url: {served}/\n",
        )
        assert sitegen(project, "build", "brand").code == 0
        deployed = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
        if allow_override == "All":
            assert deployed.code == 0, deployed.err
            assert f"HTTP check of {served}/: served as deployed" in deployed.err
        else:  # a host that ignores .htaccess: the deploy says the pages are public
            assert deployed.code == 1
            assert (
                f"login check of {served}/news/briefing/: served without a login (HTTP 200): "
                "the host ignores the folder's .htaccess" in deployed.err
            )


SSO = """auth:
  user_file: {auth}/{{site}}
  realm: Northwind members
  sso: form
  login_site: brand
  cookie_domain: network.test
protected:
  - path: /news/world/**
    roles: [partner]
"""


def browse(profile: Path, url: str, port: int) -> str:
    """The DOM of `url` with a lasting profile, every *.network.test host on loopback."""
    from tests.browser import browse_network

    return browse_network(profile, url)


LOGIN_HARNESS = """<!doctype html><iframe id="f" src="%(login)s"></iframe>
<pre id="out">pending</pre>
<script>
var frame = document.getElementById("f"), done = false;
frame.onload = function () {
  if (done) { document.getElementById("out").textContent = "submitted"; return; }
  var d = frame.contentDocument;
  d.querySelector('[name="httpd_username"]').value = "%(user)s";
  d.querySelector('[name="httpd_password"]').value = "%(password)s";
  done = true;
  d.querySelector("form").submit();
};
</script>"""


def log_in(profile: Path, docroot: Path, base: str, port: int, user: str, back: str) -> None:
    """Log in on the login page as a visitor would: type, submit, be sent back."""
    from urllib.parse import quote

    (docroot / "harness.htm").write_text(
        LOGIN_HARNESS
        % {
            "login": f"/_sg/login/?return={quote(back, safe='')}",
            "user": user,
            "password": PASSWORDS[user],
        }
    )
    assert "submitted" in browse(profile, f"{base}/harness.htm", port)


def test_one_login_page_for_the_network_in_chromium(
    project: Path, users_text: str, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    from tests.apache import DEBIAN_DEFAULT, SESSION_MODULES, virtual_hosts

    auth = tmp_path / "auth"
    with_protection(project, users_text, SSO.format(auth=auth))
    edit(project / "users.yaml", "      other: none\n", "      other: none\n      region: none\n")
    # The sites' addresses name the port Apache will listen on: pick it first, then build.
    from tests.apache import _free_port

    port = _free_port()
    for site in ("brand", "region", "other"):  # every site under the cookie's domain
        yaml = project / f"sites/{site}/site.yaml"
        text = re.sub(r"base_url: \S+\n", "", yaml.read_text())
        yaml.write_text(f"base_url: http://{site}.network.test:{port}/\n" + text)
    built = sitegen(project, "build")
    assert built.code == 0, built.err
    auth.mkdir()
    private = project / "build/.sitegen/sites"
    for site in ("brand", "region"):  # what deploy puts next to each password file
        (auth / site).write_bytes((private / site / "htpasswd").read_bytes())
    (auth / "login-users").write_bytes((private / "brand/login-users").read_bytes())
    (auth / "session-passphrase").write_text("a" * 48 + "\n")
    brand = f"http://brand.network.test:{port}"
    region = f"http://region.network.test:{port}"
    profile = tmp_path / "profile"
    hosts = {
        "brand.network.test": project / "build/brand",
        "region.network.test": project / "build/region",
    }
    with virtual_hosts(hosts, DEBIAN_DEFAULT + SESSION_MODULES, port):
        # Without a session: region sends the visitor to the network's login page.
        first = browse(profile, f"{region}/news/briefing/", port)
        assert 'name="httpd_password"' in first and "owl" not in first
        # ana logs in once, on brand's page, and is sent back to region's page...
        log_in(profile, project / "build/brand", brand, port, "ana", f"{region}/news/briefing/")
        assert "The owl flies at midnight." in browse(profile, f"{region}/news/briefing/", port)
        # ...and is logged in on brand too: one session cookie for *.network.test.
        assert "The owl flies at midnight." in browse(profile, f"{brand}/news/briefing/", port)
        # A partner page: an admin's session is not enough.
        assert "World news" not in browse(profile, f"{brand}/news/world/", port)
        # Log out on the login site: out everywhere, at once. Region's page is opened
        # right after, in the same browser: mod_auth_form's logout cookie still holds the
        # user for a second, and a protected page seen in that second used to renew the
        # session for hours (this test failed now and then, when the next Chromium started
        # within the second).
        (project / "build/brand/logout.htm").write_text(
            '<!doctype html><iframe src="/_sg/logout/go" '
            f"onload=\"location.href='{region}/news/briefing/'\"></iframe>"
        )
        after = browse(profile, f"{brand}/logout.htm", port)
        assert 'name="httpd_password"' in after and "owl" not in after
        # ben may read brand's page, not region's (his grant is revoked there).
        log_in(profile, project / "build/brand", brand, port, "ben", f"{brand}/news/briefing/")
        assert "The owl flies at midnight." in browse(profile, f"{brand}/news/briefing/", port)
        assert "owl" not in browse(profile, f"{region}/news/briefing/", port)


def test_deploy_puts_the_session_passphrase_from_the_environment_beside_the_passwords(
    deployable: tuple[Path, Path],
    users_text: str,
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, remote = deployable
    home = remote.parent
    sso = SSO.format(auth="/srv/auth").replace("network.test", "brand.test")
    with_protection(project, users_text, sso)
    edit(project / "sites/brand/site.yaml", "/www\n", "/www\n    htpasswd: /private/{site}\n")
    monkeypatch.setenv("SITEGEN_USER", "ana")
    monkeypatch.delenv("SITEGEN_SESSION_PASSPHRASE", raising=False)
    assert sitegen(project, "build", "brand").code == 0
    deploy = ("deploy", "brand", "--target", "production", "--yes")
    refused = sitegen(project, *deploy)
    assert refused.code == 1 and "set SITEGEN_SESSION_PASSPHRASE" in refused.err
    assert not any(remote.iterdir()) and not (home / "private").exists()
    secret = "s3cret-" * 8
    monkeypatch.setenv("SITEGEN_SESSION_PASSPHRASE", secret)
    done = sitegen(project, *deploy)
    assert done.code == 0, done.err
    assert (home / "private/session-passphrase").read_text() == secret + "\n"
    private = project / "build/.sitegen/sites/brand"
    assert (home / "private/login-users").read_bytes() == (private / "login-users").read_bytes()
    assert (home / "private/brand").read_bytes() == (private / "htpasswd").read_bytes()
    assert secret not in done.out + done.err
    assert "uploaded /private/session-passphrase (the session passphrase)" in done.err + done.out
    rules = (remote / "news/briefing/.htaccess").read_text()
    assert 'SessionCryptoPassphrase "exec:/bin/cat /srv/auth/session-passphrase"' in rules
    assert "AuthFormLoginRequiredLocation " in rules
    assert secret not in "".join(p.read_text("latin-1") for p in remote.rglob("*") if p.is_file())
