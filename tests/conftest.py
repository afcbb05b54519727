"""Shared test setup: the ``slow`` marker and the settings every test starts from.

The README's test command runs everything; ``pytest -m "not slow"`` is the quick loop while editing (the real
PortAudio, browser, PostgreSQL, Dask and speech-model tests are the slow ones).
"""

from __future__ import annotations

import pytest

# modules whose tests start real services or devices: a Chromium, PortAudio through ALSA's file plugin, a
# PostgreSQL server, a Dask cluster, the Korean Vosk model
SLOW_MODULES = frozenset({
    "test_browser", "test_practice", "test_practice_cli", "test_practice_coaching", "test_recovery",
    "test_store_concurrency", "test_batch", "test_transcribe_vosk", "test_packaging", "test_jobs",
})


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts a real service or device (deselect with -m 'not slow')")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.stem in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def settings():
    """The default settings (validated), for tests that pass them explicitly."""
    from voicerehearse.settings import load_settings

    return load_settings()


# ---------------------------------------------------------------- the store on SQLite and on PostgreSQL

POSTGRES_TEMPLATE = "vr_head"  # a database migrated to head once per run; each test gets a copy


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A throwaway PostgreSQL cluster for the whole run (tests/pgserver.py): ``postgres()`` makes an empty
    database, ``postgres(template=POSTGRES_TEMPLATE)`` one already at the schema's head; both return its URL.
    Skipped, with the reason, where the server or driver is missing — but with CI=true that is a failure:
    CI installs them, so the PostgreSQL variants must run there."""
    import os

    import pgserver

    reason = pgserver.missing_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the PostgreSQL tests cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    from voicerehearse.store import Store

    with pgserver.postgres_server() as fresh_database:
        store = Store.open(tmp_path_factory.mktemp("pg-template"), url=fresh_database(name=POSTGRES_TEMPLATE))
        store.engine.dispose()  # a template must have no connections when it is copied
        yield fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """The ``database_url`` of a test's store: '' (SQLite in its data directory) or a fresh PostgreSQL database
    at the schema's head. Pass it to ``Store.open(data_dir, url=database_url)`` or as the app's DATABASE_URL."""
    if request.param == "sqlite":
        yield ""
        return
    fresh_database = request.getfixturevalue("postgres")
    url = fresh_database(template=POSTGRES_TEMPLATE)
    yield url
    fresh_database.drop(url)  # and the connections the test's engines still hold
