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
    "test_store_concurrency", "test_batch", "test_transcribe_vosk",
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
