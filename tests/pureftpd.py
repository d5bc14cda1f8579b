"""A real Debian FTP server for tests: pure-ftpd on a loopback port, FTPS required, with a
virtual user and a certificate signed by a throwaway test CA (for `SITEGEN_CA_FILE`)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.apache import _free_port, wait_listening
from tests.browser import require

USER = "deployer"
PASSWORD = "pure-s3cret"


@dataclass
class PureFtpd:
    port: int
    home: Path
    """The virtual user's folder (the FTP root it sees)."""
    ca_file: Path
    """The test CA that signed the server's certificate."""


def _openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True)


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA, and a server certificate for 127.0.0.1 signed by it."""
    ca_key, ca, key = folder / "ca.key", folder / "ca.pem", folder / "server.key"
    request, certificate = folder / "server.csr", folder / "server.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
             str(ca), "-days", "2", "-subj", "/CN=sitegen test CA")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
             str(request), "-subj", "/CN=127.0.0.1")
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-out", str(certificate), "-days", "2", "-extfile",
             str(extensions))
    return ca, certificate, key


@contextmanager
def pure_ftpd(folder: Path) -> Iterator[PureFtpd]:
    """Run pure-ftpd for a virtual user whose files belong to `nobody`."""
    binary = require("/usr/sbin/pure-ftpd")
    pure_pw = require("/usr/bin/pure-pw")
    require("/usr/bin/openssl")
    if os.geteuid() != 0:
        raise AssertionError("pure-ftpd tests run as root (as scripts/test does)")
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    ca, certificate, key = _certificates(folder)
    home = folder / "home"
    home.mkdir()
    shutil.chown(home, "nobody")
    passwd, database = folder / "pureftpd.passwd", folder / "pureftpd.pdb"
    subprocess.run([pure_pw, "useradd", USER, "-u", "nobody", "-d", str(home), "-f",
                    str(passwd)], input=f"{PASSWORD}\n{PASSWORD}\n", text=True, check=True,
                   capture_output=True)
    # pure-pw hashes with a memory-hard function that takes seconds per login, and every
    # connection of the pool logs in: use a SHA-512 crypt hash, which pure-ftpd accepts too.
    fast = subprocess.run(["openssl", "passwd", "-6", PASSWORD], check=True, text=True,
                          capture_output=True).stdout.strip()
    fields = passwd.read_text().strip().split(":")
    passwd.write_text(":".join([fields[0], fast, *fields[2:]]) + "\n")
    subprocess.run([pure_pw, "mkdb", str(database), "-f", str(passwd)], check=True,
                   capture_output=True)
    port = _free_port()
    # A wide passive range: every transfer takes a port, which then waits in TIME_WAIT.
    passive = random.randrange(30000, 58000)
    process = subprocess.Popen(
        [binary, "--bind", f"127.0.0.1,{port}", "--login", f"puredb:{database}",
         "--tls", "2", "--certfile", f"{certificate},{key}", "--noanonymous",
         "--chrooteveryone", "--dontresolve", "--passiveportrange",
         f"{passive}:{passive + 2000}", "--maxclientsperip", "20", "--syslogfacility", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_listening(process, port, "pure-ftpd")
        yield PureFtpd(port, home, ca)
    finally:
        process.terminate()
        process.wait(timeout=10)
