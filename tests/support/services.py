"""Launchers for the real services the tests run against, each on a free port of its own.

PostgreSQL and Redis already run on every machine of this project (127.0.0.1:5432, 127.0.0.1:6379), but
other test sessions use them at the same time, so tests get their own database (``temp_database``) and,
when they need to stop or break a server, a throwaway instance (``postgres_cluster``, ``redis_server``).

Every launcher is a context manager that stops what it started, even when the test fails. The
``Managed*`` objects can be stopped and started again on the same port to simulate an outage.

osmem-server keeps its data in memory only: restarting it loses every document. To simulate an outage that
keeps the data, pause it (``OsmemServer.pause()``/``resume()``, SIGSTOP/SIGCONT: connections hang like a
wedged server) or stop a proxy in front of it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

VENV_BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SHARED_POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    """Block until something accepts TCP connections on host:port, or raise with a clear message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def terminate(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL; always reaps the process."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- Postgres ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def temp_database(admin_dsn: str = SHARED_POSTGRES_DSN, prefix: str = "island_test") -> Iterator[str]:
    """A new, uniquely named database on a running server; yields its DSN and drops it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_dsn.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class PostgresCluster:
    """A throwaway PostgreSQL 15 cluster (initdb + pg_ctl as the postgres user) that can be stopped."""

    port: int
    datadir: Path
    sockdir: Path

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), *args],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", opts, "-l", str(self.datadir / "server.log"), "-w", "-t", "30", "start")
        wait_for_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Start a throwaway PostgreSQL cluster with trust auth on a free port; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="island-pg-"))
    datadir, sockdir = root / "data", root / "sock"
    datadir.mkdir()
    sockdir.mkdir()
    shutil.chown(root, "postgres")
    shutil.chown(datadir, "postgres")
    shutil.chown(sockdir, "postgres")
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(datadir), "-A", "trust",
         "-U", "postgres", "--no-sync"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    cluster = PostgresCluster(port=free_port(), datadir=datadir, sockdir=sockdir)
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


# --- generic subprocess service --------------------------------------------------------------------------


@dataclass
class ManagedProcess:
    """A server process on a fixed port that a test can stop and start again."""

    argv: list[str]
    port: int
    env: dict[str, str] | None = None
    cwd: str | None = None
    log_path: Path | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)
    startup_timeout: float = 30.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with contextlib.ExitStack() as stack:
            # the child keeps its own copy of the log file descriptor; ours can close at once
            out = stack.enter_context(open(self.log_path, "ab")) if self.log_path else subprocess.DEVNULL
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, **(self.env or {})}, cwd=self.cwd,
            )
        wait_for_port(self.port, timeout=self.startup_timeout, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)
            self.proc = None

    def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers (a wedged server); state is kept."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


@contextlib.contextmanager
def _managed(service: ManagedProcess) -> Iterator[ManagedProcess]:
    service.start()
    try:
        yield service
    finally:
        if service.proc is not None and service.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                service.proc.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
        service.stop()


@contextlib.contextmanager
def redis_server(port: int | None = None, maxmemory: str | None = None) -> Iterator[ManagedProcess]:
    """A throwaway redis-server (no persistence); ``.url`` is its redis:// URL via ``redis_url``."""
    port = port or free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if maxmemory:
        argv += ["--maxmemory", maxmemory]
    with _managed(ManagedProcess(argv=argv, port=port)) as srv:
        yield srv


def redis_url(server: ManagedProcess, db: int = 0) -> str:
    return f"redis://127.0.0.1:{server.port}/{db}"


@contextlib.contextmanager
def localstripe(port: int | None = None) -> Iterator[ManagedProcess]:
    """localstripe (a stateful local Stripe API server); point StripeClient's api base at ``.url``."""
    port = port or free_port()
    argv = [str(VENV_BIN / "localstripe"), "--port", str(port), "--from-scratch"]
    with _managed(ManagedProcess(argv=argv, port=port)) as srv:
        yield srv


def osmem_binary() -> str:
    from osmem_server import resolve_binary

    return resolve_binary()


@contextlib.contextmanager
def osmem_server(port: int | None = None) -> Iterator[ManagedProcess]:
    """osmem-server, an in-memory server speaking the Elasticsearch/OpenSearch REST API, writable."""
    port = port or free_port()
    argv = [osmem_binary(), "-addr", f"127.0.0.1:{port}", "-no-stdin-watch", "-parent-pid", str(os.getpid()),
            "-no-ja"]
    with _managed(ManagedProcess(argv=argv, port=port)) as srv:
        yield srv


# --- SMTP ------------------------------------------------------------------------------------------------


class _Collecting:
    def __init__(self, sink: list) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        self.sink.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpCatcher:
    """An aiosmtpd server in a thread, collecting envelopes; stop()/start() keep the port."""

    port: int
    messages: list = field(default_factory=list)
    tls_context: ssl.SSLContext | None = None  # enables STARTTLS
    _controller: Any = field(default=None, repr=False)  # aiosmtpd.controller.Controller, imported lazily

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        # aiosmtpd's "mail.log" logs every connection's open and close at info from the server's thread;
        # written between two tests, those lines landed in make test's output, outside pytest's capture.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller = Controller(_Collecting(self.messages), hostname="127.0.0.1", port=self.port,
                                      tls_context=self.tls_context)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@contextlib.contextmanager
def smtp_catcher(port: int | None = None, tls_context: ssl.SSLContext | None = None) -> Iterator[SmtpCatcher]:
    catcher = SmtpCatcher(port=port or free_port(), tls_context=tls_context)
    catcher.start()
    try:
        yield catcher
    finally:
        catcher.stop()


# --- Prometheus and Alertmanager -------------------------------------------------------------------------


def _which(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError(f"none of {names} on PATH: run `make test` (it installs the Debian packages)")


@contextlib.contextmanager
def prometheus(config_file: Path, rule_files_dir: Path | None = None) -> Iterator[ManagedProcess]:
    """A real Prometheus from Debian's package with the given config, TSDB in a temp dir."""
    port = free_port()
    tsdb = Path(tempfile.mkdtemp(prefix="island-prom-"))
    argv = [_which("prometheus"), f"--config.file={config_file}", f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={tsdb}", "--web.enable-lifecycle", "--log.level=warn"]
    try:
        with _managed(ManagedProcess(argv=argv, port=port, cwd=str(rule_files_dir or config_file.parent))) as srv:
            yield srv
    finally:
        shutil.rmtree(tsdb, ignore_errors=True)


@contextlib.contextmanager
def alertmanager(config_file: Path) -> Iterator[ManagedProcess]:
    """A real Alertmanager (Debian's prometheus-alertmanager), clustering off."""
    port = free_port()
    storage = Path(tempfile.mkdtemp(prefix="island-am-"))
    argv = [_which("prometheus-alertmanager", "alertmanager"), f"--config.file={config_file}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", f"--storage.path={storage}"]
    try:
        with _managed(ManagedProcess(argv=argv, port=port)) as srv:
            yield srv
    finally:
        shutil.rmtree(storage, ignore_errors=True)
