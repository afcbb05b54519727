"""Batch results keyed by the audio's content and everything else that shapes them, kept one JSON file each.

>>> key = result_key("ab" * 32, "s" * 64, None, None)
>>> key.startswith("ab" * 32 + "-"), len(key)
(True, 81)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from voicerehearse import __version__
from voicerehearse.audio.io import shown
from voicerehearse.batch_inputs import BatchError
from voicerehearse.errors import AudioFormatError
from voicerehearse.pipeline import StereoLayout
from voicerehearse.settings import SETTINGS, Settings
from voicerehearse.types import Baseline

HASH_BLOCK_BYTES = 1 << 20  # read this much of a file at a time while hashing it
CACHE_DIR_NAME = "batch-cache"  # in the data directory, unless the caller names a folder
UNHASHED_SECTIONS = ("store", "batch")  # settings that cannot change an analysis


def settings_digest(settings: Settings, engine=None) -> str:
    """A sha256 over what shapes every analysis of a run: package version, settings (bar the store and batch
    sections) and the engine with its model. ``engine`` is an EngineChoice, or None for acoustic-only."""
    skip = {s.name for s in SETTINGS if s.section in UNHASHED_SECTIONS}
    values = {k: v for k, v in dataclasses.asdict(settings).items() if k not in skip}
    body = {"version": __version__, "settings": values,
            "engine": None if engine is None else [engine.engine, str(engine.model_path or "")]}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def result_key(audio_sha256: str, digest: str, stereo: StereoLayout | None, baseline: Baseline | None) -> str:
    """``<audio sha256>-<16 hex digits>``: the file's content and everything else that shapes its result."""
    body = json.dumps([digest, None if stereo is None else [stereo.agent, stereo.customer],
                       None if baseline is None else dataclasses.asdict(baseline)], sort_keys=True)
    return f"{audio_sha256}-{hashlib.sha256(body.encode()).hexdigest()[:16]}"


class ResultCache:
    """One JSON file per result key under ``folder`` (``ab/abcd...-0123....json``), each written atomically."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise BatchError(f"cannot use the results cache {shown(self.folder)}: {exc.strerror}") from None

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached record, or None (also for an unreadable entry, which is then simply analysed again)."""
        try:
            return json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Write ``record`` under ``key``: to a temporary file, then renamed over it (a crashed process never
        leaves half an entry)."""
        target = self.path(key)
        try:
            target.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:  # no fsync (10 ms a file): an entry cut
                    json.dump(record, f)                              # short by a power loss reads as missing
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise BatchError(f"cannot write to the results cache {shown(self.folder)}: {exc.strerror}") from None

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("??/*.json"))


def default_cache_dir(settings: Settings) -> Path:
    from voicerehearse.store import default_data_dir

    return default_data_dir(settings) / CACHE_DIR_NAME


def file_sha256(path: str) -> str:
    """The hex sha256 of a file's bytes; AudioFormatError when it is missing or unreadable."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(HASH_BLOCK_BYTES):
                digest.update(block)
    except FileNotFoundError:
        raise AudioFormatError(f"{shown(path)}: no such file") from None
    except IsADirectoryError:
        raise AudioFormatError(f"{shown(path)}: a folder, not an audio file") from None
    except OSError as exc:
        raise AudioFormatError(f"{shown(path)}: cannot be read ({exc.strerror})") from None
    return digest.hexdigest()
