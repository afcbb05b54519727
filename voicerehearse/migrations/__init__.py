"""Schema migrations (Alembic): the store's tables, one revision at a time, applied when a store opens.

:meth:`voicerehearse.store.Store.open` brings every database to :func:`head` under the schema lock it already
takes; ``voicerehearse db upgrade`` does the same on demand and ``voicerehearse db current`` shows where a database
stands without changing it.

Every revision is idempotent — it creates what is missing and leaves what is there — because databases made
before migrations existed were built by ``create_all`` plus a light "add the new nullable columns" step, and may
already hold some of a revision's columns. So a database with tables but no ``alembic_version`` simply runs the
chain from the first revision: it is *adopted* (brought to the baseline's shape, then stamped), never rebuilt.

Adding a column (or a table, or an index) to the store:

1. the model change in ``voicerehearse/store.py`` — new columns nullable or with a ``server_default``, so rows
   already stored stay valid;
2. a revision file ``versions/NNNN_what.py`` with ``revision = "NNNN"`` and ``down_revision`` = the previous head,
   whose ``upgrade()`` calls :func:`add_missing_columns` (or :func:`create_missing_indexes`, or
   ``op.create_table``) with the column spelled out in full — a revision is frozen DDL and never imports the
   models, which will have moved on.

``tests/test_migrations.py`` fails when the models and the migrated schema disagree, naming the difference.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

LOCATION = Path(__file__).resolve().parent


def config(connection: Connection | None = None):
    """An Alembic configuration for the store's migrations (no alembic.ini needed), bound to ``connection``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(LOCATION))
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision: the schema the models describe."""
    return _script().get_current_head()


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [rev.revision for rev in reversed(list(_script().walk_revisions()))]


def current(conn: Connection) -> str | None:
    """The revision ``conn``'s database is at (None: not migrated yet — empty, or made before migrations)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection) -> tuple[str | None, str]:
    """Bring the database to :func:`head` inside ``conn``'s transaction; returns (revision before, after).
    The caller holds the schema lock (one process at a time) and commits."""
    before = current(conn)
    if before != head():
        from alembic import command

        command.upgrade(config(conn), "head")
    return before, head()


# ----------------------------------------------------------------------------- helpers for revision files


def add_missing_columns(table: str, *columns: sa.Column) -> None:
    """``ALTER TABLE table ADD COLUMN`` for each column the table lacks. Each must be nullable or have a
    server default, so the rows already there stay valid."""
    from alembic import op

    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    for column in columns:
        if column.name in present:
            continue
        if not (column.nullable or column.server_default is not None):
            from voicerehearse.store import StoreError

            raise StoreError(f"the database lacks column {table}.{column.name} and it cannot be added "
                             "(not nullable, no server default)")
        op.add_column(table, column)


def create_missing_tables(metadata: sa.MetaData) -> None:
    """Create the tables of ``metadata`` the database lacks, and any of their columns it lacks."""
    from alembic import op

    bind = op.get_bind()
    metadata.create_all(bind, checkfirst=True)
    for table in metadata.sorted_tables:
        add_missing_columns(table.name, *(column._copy() for column in table.columns))


def create_missing_indexes(table: str, *indexes: tuple[str, list[str]]) -> None:
    """``CREATE INDEX name ON table (columns)`` for each (name, columns) the table lacks."""
    from alembic import op

    present = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table)}
    for name, columns in indexes:
        if name not in present:
            op.create_index(name, table, columns)
