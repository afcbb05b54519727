"""A throwaway PostgreSQL server for tests: its own cluster in a temp folder, listening only on a Unix socket
there, stopped and deleted at the end. Needs Debian's ``postgresql`` package (initdb, pg_ctl) and psycopg.

Run as root (as CI is), the cluster belongs to the ``postgres`` user, as PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

APT_PACKAGE = "postgresql"


def server_bin() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's /usr/lib/postgresql/N/bin (newest), else on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl and shutil.which("initdb") else None


def missing_reason() -> str | None:
    """Why the server cannot run here, or None."""
    if server_bin() is None:
        return f"PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install {APT_PACKAGE}"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed: pip install 'psycopg[binary]'"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' user to own the test cluster"
    return None


@contextmanager
def postgres_server():
    """Start a cluster; yields ``fresh_database(template=None, name=None)``, which makes a database (empty, or a
    copy of the database ``template`` — fast: PostgreSQL copies the files) and returns its SQLAlchemy URL."""
    bindir = server_bin()
    root = Path(tempfile.mkdtemp(prefix="vr-pg-"))
    run_as = {}
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid}
    data, log = root / "cluster", root / "server.log"

    def run(*args):
        subprocess.run([str(bindir / args[0]), *args[1:]], check=True, capture_output=True, cwd=root, **run_as)

    run("initdb", "-D", str(data), "-A", "trust", "-U", "vr", "-E", "UTF8", "--no-sync")
    run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-o",
        f"-k {root} -c listen_addresses='' -F -c max_connections=60", "start")
    try:
        import sqlalchemy as sa

        admin = sa.create_engine(f"postgresql+psycopg://vr@/postgres?host={root}", isolation_level="AUTOCOMMIT")

        def fresh_database(template: str | None = None, name: str | None = None) -> str:
            name = name or f"t_{uuid.uuid4().hex[:12]}"
            copy = f" TEMPLATE {template}" if template else ""
            with admin.connect() as conn:
                if conn.dialect.server_version_info >= (15,):  # copying the files beats logging every page
                    copy += " STRATEGY FILE_COPY"
                conn.execute(sa.text(f"CREATE DATABASE {name}{copy}"))
            return f"postgresql+psycopg://vr@/{name}?host={root}"

        def drop_database(url: str) -> None:
            """Drop a database made by fresh_database, closing whatever connections a test left open."""
            name = sa.engine.make_url(url).database
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

        fresh_database.drop = drop_database
        yield fresh_database
        admin.dispose()
    finally:
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, cwd=root, **run_as)
        shutil.rmtree(root, ignore_errors=True)
