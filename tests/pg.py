"""A real, throwaway PostgreSQL server on loopback for the store suites.

The binaries come from the ``pgserver`` wheel pinned in requirements.lock, so the set-up (pip)
brings the server to any machine; nothing on the system's PATH is used. The server listens on
127.0.0.1 only (no Unix socket), on a free port, with a data dir in a temp folder, and needs a
password (a loopback port is reachable by every local user while the tests run).

Usage::

    with running() as pg:
        url = pg.create_database()  # "postgresql+psycopg://verinfer:…@127.0.0.1:PORT/t_…"
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

USER = "verinfer"
# PostgreSQL refuses to run as root; under root (containers, CI images) it runs as this one.
UNPRIVILEGED = "nobody"
READY_WITHIN_S = 60.0
PORT_TRIES = 3


class PostgresSetupError(RuntimeError):
    """The test PostgreSQL server could not be found or started (a set-up failure, not a skip)."""


def binaries() -> Path:
    """The folder holding ``initdb`` and ``postgres`` from the pinned ``pgserver`` wheel."""
    spec = importlib.util.find_spec("pgserver")
    locations = list(spec.submodule_search_locations or []) if spec else []
    found = [Path(p) / "pginstall" / "bin" for p in locations]
    for folder in found:
        if (folder / "postgres").is_file() and (folder / "initdb").is_file():
            return folder
    raise PostgresSetupError(
        "no PostgreSQL server binaries: the pgserver wheel pinned in requirements.lock is not "
        f"installed ({[str(f) for f in found] or 'no pgserver package'}); run "
        "`make setup` (pip install --no-deps -r requirements.lock)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root to an unprivileged user; none when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        who = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        raise PostgresSetupError(
            f"running as root, and PostgreSQL refuses root: no user {UNPRIVILEGED!r} to run it as"
        ) from None
    return {"user": who.pw_uid, "group": who.pw_gid, "extra_groups": []}


def _give(path: Path, run_as: dict[str, Any]) -> None:
    if run_as:
        os.chown(path, run_as["user"], run_as["group"])


def _initdb(bin_dir: Path, root: Path, password: str, run_as: dict[str, Any]) -> Path:
    data, pwfile = root / "data", root / "pwfile"
    data.mkdir(mode=0o700)
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    for path in (data, pwfile):
        _give(path, run_as)
    cmd = [str(bin_dir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}"]
    cmd += ["--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, **run_as)
    pwfile.unlink()
    if done.returncode != 0:
        raise PostgresSetupError(f"initdb failed ({done.returncode}): {done.stderr.strip()}")
    return data


@dataclass
class PostgresServer:
    """One running server: its port, password and process; databases are made per test."""

    port: int
    password: str
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of `database` on this server."""
        return f"postgresql+psycopg://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str) -> None:
        import psycopg

        conninfo = self.url().replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement.encode())

    def create_database(self) -> str:
        """A new empty database; its URL. Usage: ``url = server.create_database()``."""
        name = f"t_{secrets.token_hex(6)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of `url`, cutting the connections its stores' pools still hold."""
        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Fast shutdown (SIGINT: disconnect clients, checkpoint, exit); kill if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _spawn(
    bin_dir: Path, data: Path, log: Path, run_as: dict[str, Any]
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port)]
    # No Unix socket: loopback TCP only. fsync off: this data dir is deleted after the session,
    # and what the suites check (a write committed before the call returns) does not need it.
    cmd += ["-k", "", "-c", "fsync=off", "-c", "max_connections=200"]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **run_as), port


def _accepts_connections(server: PostgresServer) -> bool:
    import psycopg

    conninfo = server.url().replace("postgresql+psycopg", "postgresql")
    try:
        with psycopg.connect(conninfo, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _wait_ready(server: PostgresServer) -> bool:
    """True once the server accepts connections; False when it exited (e.g. port taken)."""
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        if _accepts_connections(server):
            return True
        time.sleep(0.1)
    server.stop()
    raise PostgresSetupError(
        f"PostgreSQL did not accept connections within {READY_WITHIN_S:.0f}s; its log:\n"
        + server.log_tail()
    )


def _start(bin_dir: Path, root: Path, password: str, run_as: dict[str, Any]) -> PostgresServer:
    data, log = _initdb(bin_dir, root, password, run_as), root / "server.log"
    for _ in range(PORT_TRIES):
        process, port = _spawn(bin_dir, data, log, run_as)
        server = PostgresServer(port, password, process, log)
        if _wait_ready(server):
            return server
    # A port taken between free_port() and the bind is retried; anything else repeats here.
    raise PostgresSetupError(
        f"PostgreSQL exited at start-up {PORT_TRIES} times; its log:\n{server.log_tail()}"
    )


@contextlib.contextmanager
def running() -> Iterator[PostgresServer]:
    """Start a server in a temp folder, wait until it accepts connections, stop and delete it."""
    bin_dir = binaries()
    root = Path(tempfile.mkdtemp(prefix="verinfer-pg-"))
    root.chmod(0o755)  # the unprivileged server user must reach its data dir inside
    run_as = _run_as()
    try:
        server = _start(bin_dir, root, secrets.token_hex(16), run_as)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole test session (started on first use)."""
    with running() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh database on the session's server, dropped afterwards."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)
