"""Real Debian FTP servers for tests, on loopback ports, each with FTPS required by default
and a certificate signed by a throwaway test CA (for `SITEGEN_CA_FILE`):

- pure-ftpd, installed by scripts/test;
- vsftpd and proftpd, unpacked by scripts/test into .servers/root/ (their packages conflict
  with pure-ftpd's), started from there with Debian's shipped configuration plus what a
  host changes to let its users upload (listen address, port, certificate, a user).

Each server runs with its defaults; `options` add the hardened or faulty variants a test
names (quotas, refused renames, client caps, plain FTP)."""

from __future__ import annotations

import os
import pwd
import random
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.apache import _free_port, wait_listening
from tests.browser import require

UNPACKED = Path(__file__).resolve().parents[1] / ".servers" / "root"
SYSTEM_USER = "sitegen-ftp"
"""The local account vsftpd logs in (it authenticates system users through PAM)."""
PASSWORD = "ftp-s3cret"


@dataclass
class FtpServer:
    name: str
    port: int
    home: Path
    """The folder the user sees as `/`: the target's `/www` lies in it."""
    ca_file: Path
    user: str
    password: str
    tls: bool

    def url(self, root: str = "/www") -> str:
        return f"{'ftps' if self.tls else 'ftp'}://{self.user}@127.0.0.1:{self.port}{root}"


def _openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True)


def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA, and a server certificate for 127.0.0.1 signed by it."""
    require("/usr/bin/openssl")
    ca_key, ca, key = folder / "ca.key", folder / "ca.pem", folder / "server.key"
    request, certificate = folder / "server.csr", folder / "server.pem"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=sitegen test CA",
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(request),
        "-subj",
        "/CN=127.0.0.1",
    )
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        str(request),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(certificate),
        "-days",
        "2",
        "-extfile",
        str(extensions),
    )
    return ca, certificate, key


def _as_root() -> None:
    if os.geteuid() != 0:
        raise AssertionError("the FTP server tests run as root (as scripts/test does)")


def _passive_range() -> tuple[int, int]:
    """A wide passive range (every transfer takes a port, which then waits in TIME_WAIT),
    below the kernel's ephemeral ports, as hosts set it: inside them, the suite's own
    outgoing connections hold ports the server then fails to bind (vsftpd answered
    `500 OOPS: vsf_sysutil_bind` now and then, and the client read it as TLS)."""
    ephemeral = 32768
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    start = random.randrange(10000, max(ephemeral - 2000, 10001))
    return start, start + 2000


def _crypt(password: str) -> str:
    return subprocess.run(
        ["openssl", "passwd", "-6", password], check=True, text=True, capture_output=True
    ).stdout.strip()


SYSTEM_HOME = Path("/var/lib/sitegen-test-ftp")
"""The account's home: vsftpd changes into it at login (before its `local_root`) and
refuses the login if it does not exist, as `/nonexistent` does on a fresh Debian."""


def _system_user() -> pwd.struct_passwd:
    """The local account the servers map uploads to (created once, password reset)."""
    SYSTEM_HOME.mkdir(mode=0o755, exist_ok=True)
    try:
        account = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                str(SYSTEM_HOME),
                "--shell",
                "/bin/sh",
                SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
        account = pwd.getpwnam(SYSTEM_USER)
    if account.pw_dir != str(SYSTEM_HOME):  # made by an earlier version of these tests
        subprocess.run(
            ["usermod", "--home", str(SYSTEM_HOME), SYSTEM_USER], check=True, capture_output=True
        )
        account = pwd.getpwnam(SYSTEM_USER)
    subprocess.run(
        ["chpasswd"],
        input=f"{SYSTEM_USER}:{PASSWORD}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return account


def _home(folder: Path) -> Path:
    """A chroot the user cannot write to (as vsftpd insists), with a web root it owns."""
    account = _system_user()
    home = folder / "home"
    home.mkdir(parents=True)
    for parent in [folder, *folder.parents]:  # servers that change to the user's uid
        os.chmod(parent, os.stat(parent).st_mode | 0o111)  # must reach the home
    os.chmod(home, 0o755)
    (home / "www").mkdir()
    os.chown(home / "www", account.pw_uid, account.pw_gid)
    return home


@contextmanager
def _running(command: list[str], port: int, name: str) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_listening(process, port, name)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def pure_ftpd(
    folder: Path, *options: str, tls: bool = True, quota_files: int | None = None
) -> Iterator[FtpServer]:
    """pure-ftpd for a virtual user whose files belong to `sitegen-ftp`; `options` are
    extra command-line flags such as `--norename`; `quota_files`: the user's quota of
    files (pure-pw -n), past which uploads are refused."""
    binary = require("/usr/sbin/pure-ftpd")
    pure_pw = require("/usr/bin/pure-pw")
    _as_root()
    folder.mkdir(parents=True, exist_ok=True)
    ca, certificate, key = certificates(folder)
    home = _home(folder)
    passwd, database = folder / "pureftpd.passwd", folder / "pureftpd.pdb"
    user = "deployer"
    quota = ["-n", str(quota_files)] if quota_files is not None else []
    subprocess.run(
        [pure_pw, "useradd", user, "-u", SYSTEM_USER, "-d", str(home), "-f", str(passwd), *quota],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    # pure-pw hashes with a memory-hard function that takes seconds per login, and every
    # connection of the pool logs in: use a SHA-512 crypt hash, which pure-ftpd accepts too.
    fields = passwd.read_text().strip().split(":")
    passwd.write_text(":".join([fields[0], _crypt(PASSWORD), *fields[2:]]) + "\n")
    subprocess.run(
        [pure_pw, "mkdb", str(database), "-f", str(passwd)], check=True, capture_output=True
    )
    port = _free_port()
    low, high = _passive_range()
    command = [
        binary,
        "--bind",
        f"127.0.0.1,{port}",
        "--login",
        f"puredb:{database}",
        "--tls",
        "2" if tls else "0",
        "--certfile",
        f"{certificate},{key}",
        "--noanonymous",
        "--chrooteveryone",
        "--dontresolve",
        "--passiveportrange",
        f"{low}:{high}",
        "--syslogfacility",
        "none",
        *options,
    ]
    if not any(option.startswith(("--maxclientsperip", "-C")) for option in options):
        command += ["--maxclientsperip", "20"]
    with _running(command, port, "pure-ftpd"):
        yield FtpServer("pure-ftpd", port, home, ca, user, PASSWORD, tls)


VSFTPD_CHANGES = """
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
write_enable=YES
chroot_local_user=YES
local_root={home}
secure_chroot_dir={folder}/empty
pam_service_name=sitegen-test-vsftpd
rsa_cert_file={certificate}
rsa_private_key_file={key}
ssl_enable={ssl}
pasv_min_port={low}
pasv_max_port={high}
xferlog_enable=NO
"""


@contextmanager
def vsftpd(folder: Path, *options: str, tls: bool = True) -> Iterator[FtpServer]:
    """vsftpd with Debian's /etc/vsftpd.conf and the changes a host makes to let a local
    user upload over FTPS (its other defaults kept, `require_ssl_reuse=YES` among them);
    `options` are more `key=value` lines. PAM has no `sitegen-test-vsftpd` service, so
    the system's `other` service checks the password."""
    binary = require(str(UNPACKED / "usr/sbin/vsftpd"))
    _as_root()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty").mkdir()
    ca, certificate, key = certificates(folder)
    home = _home(folder)
    port = _free_port()
    low, high = _passive_range()
    shipped = [
        line
        for line in (UNPACKED / "etc/vsftpd.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    changes = VSFTPD_CHANGES.format(
        port=port,
        home=home,
        folder=folder,
        certificate=certificate,
        key=key,
        ssl="YES" if tls else "NO",
        low=low,
        high=high,
    )
    changed = {line.split("=")[0] for line in changes.split() + list(options)}
    lines = [line for line in shipped if line.split("=")[0] not in changed]
    config = folder / "vsftpd.conf"
    config.write_text("\n".join([*lines, changes, *options]) + "\n")
    with _running([str(binary), str(config)], port, "vsftpd"):
        yield FtpServer("vsftpd", port, home, ca, SYSTEM_USER, PASSWORD, tls)


PROFTPD_CHANGES = """
DefaultAddress 127.0.0.1
PidFile {folder}/proftpd.pid
ScoreboardFile {folder}/scoreboard
DelayTable {folder}/delay
PassivePorts {low} {high}
AuthUserFile {folder}/passwd
AuthOrder mod_auth_file.c
RequireValidShell off
DefaultRoot ~
LoadModule mod_tls.c
<IfModule mod_tls.c>
TLSEngine on
TLSRequired on
TLSRSACertificateFile {certificate}
TLSRSACertificateKeyFile {key}
TLSLog {folder}/tls.log
</IfModule>
"""


QUOTA_TOOL = UNPACKED / "usr/sbin/ftpquota"


def proftpd_quota(folder: Path, upload_bytes: int) -> list[str]:
    """Directives for a proftpd quota (mod_quotatab with file tables, Debian's modules.conf
    loads it) of `upload_bytes` bytes for the user; `set_proftpd_quota` changes it."""
    for kind in ("limit", "tally"):
        subprocess.run(
            [
                "perl",
                str(QUOTA_TOOL),
                "--create-table",
                f"--type={kind}",
                f"--table-path={folder / kind}.tab",
            ],
            check=True,
            capture_output=True,
        )
    set_proftpd_quota(folder, upload_bytes, add=True)
    return [
        "QuotaEngine on",
        f"QuotaLimitTable file:{folder}/limit.tab",
        f"QuotaTallyTable file:{folder}/tally.tab",
    ]


def set_proftpd_quota(folder: Path, upload_bytes: int, add: bool = False) -> None:
    subprocess.run(
        [
            "perl",
            str(QUOTA_TOOL),
            "--add-record" if add else "--update-record",
            "--type=limit",
            "--name=deployer",
            "--quota-type=user",
            f"--bytes-upload={upload_bytes}",
            "--units=B",
            f"--table-path={folder}/limit.tab",
        ],
        check=True,
        capture_output=True,
    )


@contextmanager
def proftpd(folder: Path, *options: str, tls: bool = True) -> Iterator[FtpServer]:
    """proftpd with Debian's shipped proftpd.conf and modules.conf (so its defaults hold:
    `AllowStoreRestart off`, TLS session reuse required, 450 for NLST of a missing folder,
    no SIZE in ASCII mode), a virtual user, and FTPS required; `options` are more
    directives."""
    binary = require(str(UNPACKED / "usr/sbin/proftpd"))
    _as_root()
    folder.mkdir(parents=True, exist_ok=True)
    ca, certificate, key = certificates(folder)
    home = _home(folder)
    account = _system_user()
    port = _free_port()
    low, high = _passive_range()
    (folder / "passwd").write_text(
        f"deployer:{_crypt(PASSWORD)}:{account.pw_uid}:{account.pw_gid}::{home}:/bin/false\n"
    )
    os.chmod(folder / "passwd", 0o600)
    templates = UNPACKED / "usr/share/proftpd/templates"
    (folder / "modules.conf").write_text(
        (templates / "modules.conf")
        .read_text()
        .replace("/usr/lib/proftpd", str(UNPACKED / "usr/lib/proftpd"))
    )
    shipped = (templates / "proftpd.conf").read_text()
    replacements = {
        r"^Include /etc/proftpd/modules.conf$": f"Include {folder}/modules.conf",
        r"^Port\s+21$": f"Port {port}",
        r"^UseIPv6\s+on$": "UseIPv6 off",
        r"^User\s+proftpd$": "User nobody",
        r"/var/log/proftpd/": f"{folder}/",
        r"/var/run/proftpd/": f"{folder}/",
        r"^Include /etc/proftpd/conf.d/$": "",
    }
    for pattern, new in replacements.items():
        shipped, count = re.subn(pattern, new, shipped, flags=re.MULTILINE)
        assert count, f"Debian's proftpd.conf changed: nothing matches {pattern!r}"
    if any(option.startswith("QuotaEngine") for option in options):
        shipped = re.sub(r"^QuotaEngine off$", "", shipped, flags=re.MULTILINE)
    tls_lines = PROFTPD_CHANGES if tls else PROFTPD_CHANGES.split("LoadModule mod_tls.c")[0]
    config = folder / "proftpd.conf"
    config.write_text(
        shipped
        + tls_lines.format(folder=folder, low=low, high=high, certificate=certificate, key=key)
        + "\n".join(options)
        + "\n"
    )
    with _running([str(binary), "--nodaemon", "--config", str(config)], port, "proftpd"):
        yield FtpServer("proftpd", port, home, ca, "deployer", PASSWORD, tls)


SERVERS = {"pure-ftpd": pure_ftpd, "vsftpd": vsftpd, "proftpd": proftpd}
