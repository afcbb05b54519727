"""Alembic's entry point for the store's migrations: runs them on the connection the store passes in
(``config.attributes["connection"]``, inside its transaction and schema lock), or on ``sqlalchemy.url``."""

from __future__ import annotations

from alembic import context

from voicerehearse.store import Base

target_metadata = Base.metadata


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters by copying the table
    with context.begin_transaction():  # no-op inside the store's transaction; else one transaction for all
        context.run_migrations()


def main(config) -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
    else:  # pragma: no cover - the alembic command line with an alembic.ini naming sqlalchemy.url
        from voicerehearse.store import _engine

        engine = _engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            run(conn)


if getattr(context, "config", None) is not None:  # run by Alembic (not merely imported, e.g. by doctest collection)
    main(context.config)
