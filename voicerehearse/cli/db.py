"""``voicerehearse db upgrade`` and ``db current``: where a store's database stands among the schema migrations.

Every command that opens the store already brings its database to the newest migration; ``db upgrade`` does it
on purpose (e.g. before starting several servers on one PostgreSQL database) and ``db current`` only looks.
"""

from __future__ import annotations

from pathlib import Path

import click

from voicerehearse.cli.common import config_option, domain_errors, set_option

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Data directory (its SQLite database, unless the database_url setting names another). "
         "Default: the data_dir setting, $VOICEREHEARSE_DATA_DIR or the user data directory.",
)


@click.group()
def db() -> None:
    """The store's database schema: upgrade it to the newest migration, or show where it stands."""


def _target(data_dir, config, overrides):
    """(settings, data_dir, database URL) as Store.open resolves them."""
    from voicerehearse.settings import load_settings
    from voicerehearse.store import default_data_dir

    settings = load_settings(config, overrides)
    data_dir = Path(data_dir) if data_dir else default_data_dir(settings)
    return settings, data_dir, settings.database_url or f"sqlite:///{data_dir / 'voicerehearse.db'}"


def _revision(url: str) -> str | None:
    """The database's revision, read without changing anything."""
    from voicerehearse import migrations
    from voicerehearse.store import StoreError, _engine, _shown

    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return migrations.current(conn)
    except Exception as exc:  # driver errors differ per backend
        raise StoreError(f"cannot open database {_shown(url)}: {exc}") from None
    finally:
        engine.dispose()


@db.command()
@data_dir_option
@config_option
@set_option
@domain_errors
def current(data_dir, config, overrides) -> None:
    """Show the database's schema revision and whether it is the newest."""
    from voicerehearse import migrations
    from voicerehearse.store import _shown

    _, data_dir, url = _target(data_dir, config, overrides)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        click.echo(f"{_shown(url)}: no database yet (the first command that opens the store creates it at "
                   f"{migrations.head()})")
        return
    revision, head = _revision(url), migrations.head()
    if revision == head:
        click.echo(f"{_shown(url)}: at {revision} (head)")
    elif revision is None:
        click.echo(f"{_shown(url)}: not migrated yet (empty, or made before migrations); head is {head} — "
                   "run `voicerehearse db upgrade`")
    else:
        click.echo(f"{_shown(url)}: at {revision}; head is {head} — run `voicerehearse db upgrade`")


@db.command()
@data_dir_option
@config_option
@set_option
@domain_errors
def upgrade(data_dir, config, overrides) -> None:
    """Bring the database to the newest schema revision (creating it if there is none), keeping every row."""
    from voicerehearse import migrations
    from voicerehearse.store import Store, _shown

    settings, data_dir, url = _target(data_dir, config, overrides)
    exists = not url.startswith("sqlite:///") or Path(url[len("sqlite:///"):]).is_file()
    before = _revision(url) if exists else None
    store = Store.open(data_dir, url=url, settings=settings)  # migrates, under the schema lock
    try:
        with store.engine.connect() as conn:
            after = migrations.current(conn)
    finally:
        store.engine.dispose()
    if not exists:
        click.echo(f"{_shown(url)}: created at {after} (head)")
    elif before == after:
        click.echo(f"{_shown(url)}: already at {after} (head)")
    else:
        click.echo(f"{_shown(url)}: upgraded from {before or 'no revision'} to {after} (head)")
