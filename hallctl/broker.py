"""A real Mosquitto broker run as a child process: for tests and for the demo's embedded broker.

One object, two ways to drive it:

* ``with Mosquitto() as broker:`` or ``broker.start()`` / ``broker.stop()`` from synchronous code
  (pytest fixtures, the demo launcher);
* ``async with Mosquitto() as broker:`` and ``await broker.astop()`` / ``await broker.arestart()``
  from a running event loop. The async methods run the blocking parts (waiting for the port,
  waiting for the process to exit) in a worker thread so the loop under test keeps running.

The port is picked once and kept: ``stop()`` then ``start()`` (or ``restart()``) brings the broker
back on the same address, which is what broker-outage tests need. The work directory (config,
password file, certificates, log) lives until ``close()``; the context managers close for you.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import structlog

__all__ = ["BrokerError", "Mosquitto", "find_mosquitto"]

log = structlog.get_logger(__name__)

_FALLBACK_BINARY = "/usr/sbin/mosquitto"  # Debian installs it outside a normal user's PATH


class BrokerError(RuntimeError):
    """The broker could not be found, configured or started."""


def find_mosquitto() -> str:
    """Path of the ``mosquitto`` binary, or a BrokerError that says how to install it."""
    found = shutil.which("mosquitto")
    if found:
        return found
    if os.access(_FALLBACK_BINARY, os.X_OK):
        return _FALLBACK_BINARY
    raise BrokerError(
        "mosquitto not found on PATH or at /usr/sbin/mosquitto; "
        "install it (Debian/Ubuntu: apt-get install mosquitto mosquitto-clients)"
    )


def _find_tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin")
    if not found:
        raise BrokerError(f"{name} not found; install the mosquitto package")
    return found


def _free_port(host: str) -> int:
    # The kernel picks an unused port; the small race until mosquitto binds it is handled by
    # retrying start() with a fresh port when the bind fails.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class _ProcHolder:
    """What the finalizer needs, kept apart from the Mosquitto object so it can be collected."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None


def _reap(holder: _ProcHolder, workdir: str) -> None:
    # Last resort when a test forgets to stop the broker or the interpreter exits: never leave
    # an orphan mosquitto holding a port.
    proc = holder.proc
    if proc is not None and proc.poll() is None:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    shutil.rmtree(workdir, ignore_errors=True)


class Mosquitto:
    """A throwaway Mosquitto on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        *,
        password_users: Mapping[str, str] | None = None,
        tls: bool = False,
        acl_file: str | None = None,
        allow_anonymous: bool | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        binary: str | None = None,
        extra_config: str = "",
        start_timeout: float = 10.0,
    ) -> None:
        """Prepare the work directory and config; nothing runs until ``start()``.

        ``password_users``: user → password; anonymous access is then refused unless
        ``allow_anonymous=True`` is passed explicitly.
        ``tls``: serve MQTT over TLS with a throwaway CA (``ca_path``) and a server certificate
        for ``127.0.0.1`` and ``localhost``.
        ``acl_file``: the *text* of a Mosquitto ACL file (written into the work directory).
        ``extra_config``: more ``mosquitto.conf`` lines, appended verbatim.
        """
        self.host = host
        self.tls = tls
        self._binary = binary or find_mosquitto()
        self._port_fixed = port is not None
        self._port = port if port is not None else _free_port(host)
        self._start_timeout = start_timeout
        self._workdir = Path(tempfile.mkdtemp(prefix="hallctl-mosquitto-"))
        self._holder = _ProcHolder()
        self._finalizer = weakref.finalize(self, _reap, self._holder, str(self._workdir))
        self._closed = False
        self._ever_started = False
        self.ca_path: Path | None = None
        self.log_path = self._workdir / "mosquitto.log"
        try:
            self._config_path = self._write_config(
                password_users=password_users,
                acl_text=acl_file,
                allow_anonymous=allow_anonymous,
                extra_config=extra_config,
            )
        except BaseException:
            self._finalizer()
            raise

    # -- addresses ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT``, or ``mqtts://…`` when the broker speaks TLS."""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.host}:{self._port}"

    @property
    def workdir(self) -> Path:
        return self._workdir

    @property
    def pid(self) -> int | None:
        proc = self._holder.proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def tls_context(self) -> ssl.SSLContext:
        """A client SSL context that trusts exactly this broker's throwaway CA."""
        if self.ca_path is None:
            raise BrokerError("this broker was started without tls=True")
        return ssl.create_default_context(cafile=str(self.ca_path))

    def log_text(self) -> str:
        """Everything mosquitto wrote so far (all runs), for assertion messages."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    # -- config ---------------------------------------------------------------------------------

    def _write_config(
        self,
        *,
        password_users: Mapping[str, str] | None,
        acl_text: str | None,
        allow_anonymous: bool | None,
        extra_config: str,
    ) -> Path:
        if allow_anonymous is None:
            allow_anonymous = not password_users
        lines = [
            # The listener line is rewritten on every start, see _render_config.
            "protocol mqtt",
            "persistence false",
            f"allow_anonymous {'true' if allow_anonymous else 'false'}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            # As root, mosquitto would switch to the "mosquitto" user, which cannot read this
            # root-owned 0700 work directory. Staying root is fine for a throwaway test broker.
            lines.append("user root")
        if password_users:
            lines.append(f"password_file {self._write_passwords(password_users)}")
        if acl_text is not None:
            acl_path = self._workdir / "acl"
            acl_path.write_text(acl_text, encoding="utf-8")
            lines.append(f"acl_file {acl_path}")
        if self.tls:
            ca, cert, key = write_test_certificates(self._workdir / "tls")
            self.ca_path = ca
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        if extra_config:
            lines.append(extra_config)
        self._base_config = "\n".join(lines) + "\n"
        return self._workdir / "mosquitto.conf"

    def _render_config(self) -> None:
        # mosquitto ties per-listener options (protocol, TLS files) to the preceding listener line,
        # so the listener comes first.
        text = f"listener {self._port} {self.host}\n" + self._base_config
        self._config_path.write_text(text, encoding="utf-8")

    def _write_passwords(self, users: Mapping[str, str]) -> Path:
        tool = _find_tool("mosquitto_passwd")
        path = self._workdir / "passwords"
        for i, (user, password) in enumerate(users.items()):
            # -c creates (truncates) the file for the first user; -b takes the password as an arg.
            args = [tool, "-c", "-b"] if i == 0 else [tool, "-b"]
            result = subprocess.run(
                [*args, str(path), user, password], capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise BrokerError(
                    f"mosquitto_passwd failed for user {user!r}: {result.stderr.strip()}"
                )
        path.chmod(0o600)
        return path

    # -- lifecycle (sync) -----------------------------------------------------------------------

    def start(self) -> None:
        """Start mosquitto and return once the port accepts connections. No-op if running."""
        if self._closed:
            raise BrokerError("this broker was closed; create a new Mosquitto")
        if self.running:
            return
        attempts = 1 if (self._port_fixed or self._ever_started) else 3
        for attempt in range(attempts):
            try:
                self._spawn_and_wait()
            except _PortTaken:
                if attempt + 1 == attempts:
                    raise BrokerError(
                        f"port {self._port} is already in use\n{self._log_tail()}"
                    ) from None
                self._port = _free_port(self.host)
                continue
            self._ever_started = True
            log.info("broker.started", url=self.url, pid=self.pid)
            return

    def _spawn_and_wait(self) -> None:
        self._render_config()
        with self.log_path.open("ab") as log_file:
            log_offset = log_file.tell()
            proc = self._spawn(log_file)
        self._holder.proc = proc
        deadline = time.monotonic() + self._start_timeout
        while True:
            if proc.poll() is not None:
                self._holder.proc = None
                this_run = self.log_path.read_bytes()[log_offset:].decode(errors="replace")
                if "Address already in use" in this_run:
                    raise _PortTaken
                raise BrokerError(
                    f"mosquitto exited with code {proc.returncode} while starting\n{this_run}"
                )
            # "running" is logged once every listener is bound. Checking the port alone is not
            # enough: another process squatting on it would answer and look like our broker.
            if b" running" in self.log_path.read_bytes()[log_offset:] and self._port_open():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise BrokerError(
                    f"mosquitto did not accept connections on {self.host}:{self._port} "
                    f"within {self._start_timeout}s\n{self._log_tail()}"
                )
            time.sleep(0.02)

    def _spawn(self, log_file: IO[bytes]) -> subprocess.Popen[bytes]:
        try:
            return self._popen(log_file)
        except OSError as exc:
            raise BrokerError(f"cannot run {self._binary}: {exc}") from exc

    def _popen(self, log_file: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [self._binary, "-c", str(self._config_path)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Own session: a Ctrl-C aimed at the test run must not kill the broker before the
            # fixtures had a chance to stop it in order.
            start_new_session=True,
        )

    def _port_open(self) -> bool:
        try:
            with socket.create_connection((self.host, self._port), timeout=0.2):
                return True
        except OSError:
            return False

    def _log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM and wait for the exit (SIGKILL after ``timeout`` seconds). No-op if stopped."""
        proc = self._holder.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("broker.stop_timeout", url=self.url, pid=proc.pid)
                proc.kill()
                proc.wait()
            log.info("broker.stopped", url=self.url, returncode=proc.returncode)
        self._holder.proc = None

    def kill(self) -> None:
        """SIGKILL: the broker vanishes without closing connections cleanly (a crash)."""
        proc = self._holder.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            log.info("broker.killed", url=self.url)
        self._holder.proc = None

    def restart(self) -> None:
        """Stop, then start again on the same port."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the broker and delete its work directory. Idempotent."""
        self.stop()
        self._closed = True
        self._finalizer()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- lifecycle (async) ----------------------------------------------------------------------

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def akill(self) -> None:
        await asyncio.to_thread(self.kill)

    async def arestart(self) -> None:
        await asyncio.to_thread(self.restart)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> Self:
        try:
            await self.astart()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Mosquitto {self.url} {state}>"


class _PortTaken(Exception):
    pass


# -- throwaway TLS material ---------------------------------------------------------------------


def write_test_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """Write a throwaway CA and a server certificate for 127.0.0.1/localhost into ``directory``.

    Returns ``(ca_cert, server_cert, server_key)`` paths. Uses the ``cryptography`` package when
    it is installed and falls back to the ``openssl`` command, so a machine with either works.
    """
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return _certificates_with_openssl(directory)
    return _certificates_with_cryptography(directory)


def _certificates_with_cryptography(directory: Path) -> tuple[Path, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    # A little slack before "now" so a clock a few seconds off between processes cannot fail it.
    not_before, not_after = now - timedelta(minutes=5), now + timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hallctl throwaway test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_path, cert_path, key_path = _cert_paths(directory)
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def _certificates_with_openssl(directory: Path) -> tuple[Path, Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise BrokerError(
            "tls=True needs the 'cryptography' Python package or the 'openssl' command"
        )
    ca_path, cert_path, key_path = _cert_paths(directory)
    ca_key, csr, ext = directory / "ca.key", directory / "server.csr", directory / "server.ext"
    ext.write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n",
        encoding="ascii",
    )
    ec_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        [openssl, "req", "-x509", *ec_key, "-keyout", str(ca_key), "-out", str(ca_path),
         "-days", "2", "-subj", "/CN=hallctl throwaway test CA",
         "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", *ec_key, "-keyout", str(key_path), "-out", str(csr),
         "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca_path), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(cert_path), "-days", "2", "-extfile", str(ext)],
    ]  # fmt: skip
    for cmd in steps:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(f"openssl failed: {' '.join(cmd[1:3])}: {result.stderr.strip()}")
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def _cert_paths(directory: Path) -> tuple[Path, Path, Path]:
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"
