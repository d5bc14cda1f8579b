"""The network's users (issue 15): one users file, roles that inherit, grants that flow down
the site tree, what `sitegen users` shows, passwords, and bad input at its line."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import bcrypt
import pytest

from tests.conftest import Result, edit, jsonl

USERS = """# the people of the network
roles:
  partner:
    inherits: member
    description: reads the partner pages
users:
  ana:
    name: Ana Lima
    email: ana@example.org
    handle: ana-lima
    grants:
      root: admin
  ben:
    name: Ben Okafor   # the brand's lead
    email: ben@example.org
    handle: ben-o
    grants:
      root: editor
      other: none
      brand: [author, {role: publisher, environments: [staging]}]
  cleo:
    email: cleo@partner.example
    grants:
      brand: partner
"""


@pytest.fixture
def people(project: Path) -> Path:
    (project / "users.yaml").write_text(USERS)
    return project


def test_grants_flow_down_the_site_tree(people: Path, sitegen: Callable[..., Result]) -> None:
    shown = sitegen(people, "users", "show", "ben")
    assert shown.code == 0, shown.err
    rows = {line.split()[0]: line for line in shown.out.splitlines()[4:]}
    # root: editor, as granted there.
    assert re.search(
        r"root\s+editor\s+read, edit, decide\s+granted on root \(users.yaml:18\)", rows["root"]
    )
    # region extends brand: brand's grant (author in production), not root's.
    assert re.search(
        r"region\s+author\s+read, edit\s+granted on brand \(users.yaml:20\), inherited",
        rows["region"],
    )
    # other: root's grant revoked.
    assert re.search(r"other\s+-\s+-\s+revoked on other \(users.yaml:19\)", rows["other"])
    staging = sitegen(people, "users", "show", "ben", "--env", "staging")
    assert re.search(r"brand\s+author, publisher\s+read, edit, publish, decide", staging.out)


def test_who_can_names_the_grant_that_allows(people: Path, sitegen: Callable[..., Result]) -> None:
    production = sitegen(people, "users", "who-can", "region", "deploy")
    assert production.code == 0, production.err
    assert production.out.splitlines()[0] == (
        "deploy on region (production): the 'publish' permission:"
    )
    assert [line.split()[0] for line in production.out.splitlines()[2:]] == ["ana"]
    staging = sitegen(people, "users", "who-can", "region", "deploy", "--env", "staging")
    assert [line.split()[0] for line in staging.out.splitlines()[2:]] == ["ana", "ben"]
    # A custom role inherits what member (and viewer) can do.
    readers = sitegen(people, "users", "who-can", "brand", "read")
    assert [line.split()[0] for line in readers.out.splitlines()[2:]] == ["ana", "ben", "cleo"]
    assert sitegen(people, "users", "who-can", "other", "read").out.count("\n") == 3  # ana
    unknown = sitegen(people, "users", "who-can", "brand", "delpoy")
    assert unknown.code == 1 and "unknown action 'delpoy' (did you mean 'deploy'?)" in unknown.err


def test_list_and_check(people: Path, sitegen: Callable[..., Result]) -> None:
    listed = sitegen(people, "users", "list")
    assert listed.code == 0, listed.err
    ben = next(line for line in listed.out.splitlines() if line.startswith("ben "))
    assert "@ben-o" in ben and "other: none" in ben and "brand: publisher (staging)" in ben
    checked = sitegen(people, "users", "check")
    assert checked.code == 0
    assert "users.yaml: 3 people, 7 roles (1 the network's own)" in checked.out
    # Without a users file the network declares no one (and nothing is checked).
    (people / "users.yaml").unlink()
    assert "declares no one" in sitegen(people, "users", "check").out


def test_a_site_may_add_people_for_itself_and_below(
    people: Path, sitegen: Callable[..., Result]
) -> None:
    (people / "sites/brand/users.yaml").write_text(
        "users:\n  dora:\n    email: dora@example.org\n    grants:\n      region: author\n"
    )
    shown = sitegen(people, "users", "show", "dora")
    assert shown.code == 0, shown.err
    assert "declared at sites/brand/users.yaml:2" in shown.out
    assert re.search(r"region\s+author", shown.out)
    edit(people / "sites/brand/users.yaml", "region: author", "root: author")
    refused = sitegen(people, "users", "check")
    assert refused.code == 1
    assert (
        "sites/brand/users.yaml:5: users.dora.grants.root: sites/brand/users.yaml may grant "
        "roles on site 'brand' and the sites below it, not on 'root'" in refused.err
    )


def test_a_person_is_declared_once(people: Path, sitegen: Callable[..., Result]) -> None:
    (people / "sites/other/users.yaml").write_text(
        "users:\n  ben:\n    grants:\n      other: author\n"
    )
    refused = sitegen(people, "users", "check")
    assert refused.code == 1
    assert (
        "sites/other/users.yaml:2: users.ben: user 'ben' is already declared at "
        "users.yaml:13; a person is declared once for the whole network" in refused.err
    )


HASH = "$2b$12$" + "a" * 53


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "      brand: partner\n",
            "      brand: partnr\n",
            "users.yaml:24: users.cleo.grants.brand: unknown role 'partnr' (did you mean "
            "'partner'?)",
        ),
        (
            "    inherits: member\n",
            "    inherits: partner2\n  partner2:\n    inherits: partner\n",
            "users.yaml:5: roles.partner2.inherits: cycle in role inheritance: partner -> "
            "partner2 -> partner",
        ),
        (
            "      other: none\n",
            "      othre: none\n",
            "users.yaml:19: users.ben.grants.othre: site 'othre' does not exist (did you mean "
            "'other'?)",
        ),
        (
            "    handle: ana-lima\n",
            "    handle: ana-lima\n    password_hash: $2b$12$tooshort\n",
            "users.yaml:11: users.ana.password_hash: expected a bcrypt hash",
        ),
        (
            "    handle: ana-lima\n",
            f"    handle: ana-lima\n    password_hash: {HASH.replace('$12$', '$10$')}\n",
            "users.yaml:11: users.ana.password_hash: bcrypt cost 10 is below 12",
        ),
        (
            "    handle: ana-lima\n",
            "    handle: ana-lima\n    password: hunter2hunter2\n",
            "users.yaml:11: users.ana.password: a password is never written down: run "
            "`sitegen users passwd ana`",
        ),
        (
            "    description: reads the partner pages\n",
            "    permissions: [raed]\n",
            "users.yaml:5: roles.partner.permissions[0]: unknown permission 'raed' (did you "
            "mean 'read'?)",
        ),
        (
            "environments: [staging]",
            "environments: [stagign]",
            "users.yaml:20: users.ben.grants.brand[1]: unknown environment 'stagign'",
        ),
        (
            "    email: cleo@partner.example\n",
            "    email: ben@example.org\n",
            "users.yaml:22: users.cleo.email: ben@example.org is already user 'ben''s",
        ),
        (
            "  partner:\n",
            "  editor:\n",
            "users.yaml:3: roles.editor: 'editor' is a built-in role",
        ),
        (
            "      root: admin\n",
            "      root: admin\n      brand: {roles: [x]}\n",
            "users.yaml:13: users.ana.grants.brand.roles: unknown key (did you mean 'role'?)",
        ),
    ],
)
def test_bad_users_files_are_errors_at_their_line_and_build_nothing(
    people: Path, sitegen: Callable[..., Result], old: str, new: str, expected: str
) -> None:
    edit(people / "users.yaml", old, new)
    checked = sitegen(people, "users", "check")
    assert checked.code == 1
    assert expected in checked.err, checked.err
    built = sitegen(people, "build")
    assert built.code == 1 and expected in built.err
    assert not (people / "build/brand").exists()


def test_passwd_stores_a_bcrypt_hash_and_changes_one_line(
    people: Path,
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SITEGEN_USER", "ben")
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    before = (people / "users.yaml").read_text().splitlines()
    done = sitegen(people, "users", "passwd", "ben", "--stdin")
    assert done.code == 0, done.err
    assert done.out == "users.yaml: password of ben set (bcrypt, cost 12)\n"
    after = (people / "users.yaml").read_text().splitlines()
    added = [line for line in after if line not in before]
    assert len(after) == len(before) + 1 and len(added) == 1
    assert after.index(added[0]) == before.index("    name: Ben Okafor   # the brand's lead")
    digest = re.fullmatch(r'    password_hash: "(.*)"', added[0])
    assert digest and digest[1].startswith("$2b$12$")
    assert bcrypt.checkpw(b"correct horse battery", digest[1].encode())
    assert "correct horse" not in done.out + done.err
    # Again: the line is replaced, not added twice.
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert sitegen(people, "users", "passwd", "ben", "--stdin").code == 0
    again = (people / "users.yaml").read_text().splitlines()
    assert len(again) == len(after)
    new = re.fullmatch(r'    password_hash: "(.*)"', again[after.index(added[0])])
    assert new and bcrypt.checkpw(b"another long password", new[1].encode())
    assert sitegen(people, "users", "check").code == 0


def test_passwd_of_someone_else_needs_manage_users(
    people: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (people / "users.yaml").read_text()
    monkeypatch.setenv("SITEGEN_USER", "ben@example.org")
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    refused = sitegen(people, "users", "passwd", "cleo", "--stdin")
    assert refused.code == 1
    assert (
        "users passwd cleo: user 'ben' (SITEGEN_USER=ben@example.org) may set only their own "
        "password without 'manage-users' on brand" in refused.err
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    monkeypatch.setenv("SITEGEN_USER", "ana")
    short = sitegen(people, "users", "passwd", "cleo", "--stdin")
    assert short.code == 1 and "at least 10 characters" in short.err
    assert (people / "users.yaml").read_text() == before
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert sitegen(people, "users", "passwd", "cleo", "--stdin").code == 0  # an admin may


def test_deploy_rollback_and_decide_check_who_acts(
    deployable: tuple[Path, Path],
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    project, remote = deployable
    (project / "users.yaml").write_text(USERS)
    assert sitegen(project, "build", "brand").code == 0
    deploy = ("deploy", "brand", "--target", "production", "--yes")
    # Known by the git user's address: ben publishes brand on staging only.
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\temail = Ben@Example.org\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.delenv("SITEGEN_USER", raising=False)
    refused = sitegen(project, *deploy)
    assert refused.code == 1
    assert (
        "deploy brand: user 'ben' (git user.email Ben@Example.org) lacks the 'publish' "
        "permission on site 'brand' in production (who has it: ana)" in refused.err
    )
    assert not any(remote.iterdir())  # nothing sent, no state written
    dry = sitegen(project, "deploy", "brand", "--target", "production", "--dry-run")
    assert dry.code == 0  # reviewing a plan changes nothing: anyone may
    monkeypatch.setenv("SITEGEN_USER", "nobody")
    unknown = sitegen(project, *deploy)
    assert unknown.code == 1
    assert "deploy brand: SITEGEN_USER=nobody names no user of users.yaml" in unknown.err

    monkeypatch.setenv("SITEGEN_USER", "ana")
    done = sitegen(project, *deploy)
    assert done.code == 0, done.err
    remote_journal = jsonl(remote / ".sitegen-state/journal.jsonl")
    local_journal = jsonl(project / "build/.sitegen/sites/brand/journal.jsonl")
    assert {entry.get("user") for entry in remote_journal + local_journal} == {"ana"}

    monkeypatch.setenv("SITEGEN_USER", "cleo")
    rollback = sitegen(project, "rollback", "brand", "--target", "production", "--yes")
    assert rollback.code == 1 and "rollback brand: user 'cleo'" in rollback.err
    decide = sitegen(project, "experiments", "decide", "brand", "--write")
    assert decide.code == 1
    assert "experiments decide brand --write: user 'cleo'" in decide.err
    assert "lacks the 'decide' permission on site 'brand' in production" in decide.err


def test_codeowners_follow_the_grants_and_check_says_when_stale(
    people: Path, sitegen: Callable[..., Result]
) -> None:
    stale = sitegen(people, "users", "codeowners", "--check")
    assert stale.code == 1 and ".github/CODEOWNERS, .gitlab/CODEOWNERS stale" in stale.err
    assert not (people / ".github").exists()  # --check writes nothing
    written = sitegen(people, "users", "codeowners")
    assert written.code == 0, written.err
    github = (people / ".github/CODEOWNERS").read_text()
    assert (people / ".gitlab/CODEOWNERS").read_text() == github
    lines = [line for line in github.splitlines() if line and not line.startswith("#")]
    assert lines == [
        "* @ana-lima",
        "/sites/brand/ @ana-lima @ben-o",
        "/sites/other/ @ana-lima",  # ben's grant revoked there
        "/sites/region/ @ana-lima @ben-o",
        "/sites/root/ @ana-lima @ben-o",
        "/content/articles/ @ana-lima @ben-o",
        "/content/news/ @ana-lima @ben-o",
        "/users.yaml @ana-lima",
        "/sites/brand/users.yaml @ana-lima",
        "/sites/other/users.yaml @ana-lima",
        "/sites/region/users.yaml @ana-lima",
        "/sites/root/users.yaml @ana-lima",
    ]
    assert sitegen(people, "users", "codeowners", "--check").code == 0
    # A grant changes: CI's check fails until the files are written again, with the diff.
    edit(people / "users.yaml", "      root: editor\n", "      root: member\n")
    again = sitegen(people, "users", "codeowners", "--check")
    assert again.code == 1
    assert "-/sites/root/ @ana-lima @ben-o\n+/sites/root/ @ana-lima\n" in again.out
    # Someone with a permission and no handle cannot be listed: said, not hidden.
    edit(people / "users.yaml", "    handle: ben-o\n", "")
    noted = sitegen(people, "users", "codeowners")
    assert "warning: ben may edit site brand but has no handle: not listed" in noted.err
