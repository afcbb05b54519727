"""Kept for older imports: the session writes live in the store layer, :mod:`voicerehearse.sessions`."""

from voicerehearse.sessions import add_session, latest_baseline  # noqa: F401
