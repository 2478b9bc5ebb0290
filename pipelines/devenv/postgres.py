"""A throwaway PostgreSQL cluster (Debian's ``postgresql``) ready for logical decoding.

For CDC tests and demos: ``initdb`` into a folder, ``wal_level=logical`` so Debezium's
``pgoutput`` replication works, loopback only on a free port, trust authentication (no
password to leak: nothing but this machine can reach it). PostgreSQL refuses to run as
root, so under root the cluster belongs to the ``postgres`` user the package creates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.devenv.broker import free_port
from pipelines.devenv.broker.process import tail

_PG_ROOT = Path("/usr/lib/postgresql")
BANK_SCHEMA = """
create table customers (card_id text primary key, customer_id text not null,
  home_country text not null, travel_notices jsonb, risk_tier text not null default 'standard');
create table documents (doc_id text primary key, title text not null, body text not null);
"""
"""The tables the CDC tests, demos and e2e capture: our field names as columns but for a
document's text, in ``body`` (mapped with ``STREAMWISE_CDC_KB_COLUMNS=text=body``), and the
travel notices as JSONB."""
_CONFIG = """
wal_level = logical
max_wal_senders = 4
max_replication_slots = 4
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
fsync = off
"""
"""``fsync = off``: a test cluster is thrown away; durability across a crash of the
machine buys nothing and costs seconds of every commit-heavy test."""


class PostgresError(RuntimeError):
    """The temporary PostgreSQL cluster could not be created or started."""


@dataclass(frozen=True)
class Postgres:
    """A running cluster: connect as ``user`` to ``database`` on ``host:port``, no password."""

    host: str
    port: int
    user: str = "postgres"
    database: str = "postgres"

    def psql(self, sql: str) -> str:
        """Run ``sql`` with ``psql`` (stop at the first error) and return what it printed."""
        result = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port),
             "-U", self.user, "-d", self.database, "-At", "-c", sql],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            msg = f"psql failed: {result.stderr.strip()}"
            raise PostgresError(msg)
        return result.stdout


def pg_bin() -> Path:
    """The newest installed server's ``bin`` folder (``postgresql-15`` on bookworm)."""
    versions = sorted(_PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not versions:
        msg = "PostgreSQL is not installed (Debian: apt-get install postgresql; `make test-debs`)"
        raise PostgresError(msg)
    return versions[-1].parent


@contextmanager
def running_postgres() -> Iterator[Postgres]:
    """A fresh cluster until the block ends; then stopped and its folder removed.

    The folder is a new one under the system's temporary directory, not the caller's:
    under root the server runs as ``postgres``, which must be able to reach it.
    """
    bin_dir, port = pg_bin(), free_port()
    with tempfile.TemporaryDirectory(prefix="streamwise-pg-") as work:
        folder = Path(work)
        data, log = folder / "data", folder / "postgres.log"
        as_owner = _as_postgres_user(folder)
        _run([*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
              "-U", "postgres", "-E", "UTF8"], "initdb", log)  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(_CONFIG.format(port=port, sockets=folder))
        pg_ctl = [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-w"]
        _run([*pg_ctl, "-l", str(log), "start"], "pg_ctl start", log)
        try:
            yield Postgres("127.0.0.1", port)
        finally:
            _run([*pg_ctl, "-m", "fast", "stop"], "pg_ctl stop", log)


def _as_postgres_user(folder: Path) -> list[str]:
    """The command prefix that runs the server as a non-root user, who then owns ``folder``."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        msg = "PostgreSQL does not run as root and 'runuser' is missing to drop to 'postgres'"
        raise PostgresError(msg)
    shutil.chown(folder, "postgres")
    return [runuser, "-u", "postgres", "--"]


def _run(argv: list[str], what: str, log: Path) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip() or tail(log, 5)
        msg = f"PostgreSQL {what} failed: {said}"
        raise PostgresError(msg)
