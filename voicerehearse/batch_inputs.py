"""What a batch runs on: the recordings named by paths, folders, globs or a CSV manifest, in input order.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()); _ = (folder / "b.wav").write_bytes(b""); _ = (folder / "a.flac").write_bytes(b"")
>>> [pathlib.Path(p).name for p in expand_paths([folder])]
['a.flac', 'b.wav']
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from voicerehearse.audio.io import shown
from voicerehearse.errors import ConfigError, VoiceRehearseError
from voicerehearse.pipeline import StereoLayout

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64")


class BatchError(VoiceRehearseError):
    """A batch cannot start (no inputs, bad manifest, no cluster), or one file's analysis failed unexpectedly."""


@dataclass(frozen=True)
class BatchItem:
    """One recording to analyse, in input order."""

    path: str  # as given (a non-UTF-8 name is kept as the OS gave it, see os.fsdecode)
    trainee: str | None = None  # whose call it is; needed to store it as a session
    stereo: StereoLayout | None = None  # which channel is the agent and which the customer
    title: str | None = None  # the stored session's title


def expand_paths(args: Iterable[str | os.PathLike]) -> list[str]:
    """Files named by ``args`` in order: a file as is (even a missing one: it gets an error record), a folder as
    the audio files under it (sorted; a folder without any stays as one input and gets an error record), a glob
    (``*``, ``?``, ``[``, ``**``) as its sorted matches. A glob that matches nothing raises BatchError, since
    that is a mistake in the command, not a bad file."""
    out: list[str] = []
    for arg in args:
        arg = os.fspath(arg)
        if os.path.isdir(arg):
            found = sorted(str(p) for p in Path(arg).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
            if not found:  # one bad input among many: its own error record, the rest still run
                out.append(arg)
                continue
            out.extend(found)
        elif not os.path.lexists(arg) and any(c in arg for c in "*?["):
            found = sorted(p for p in glob.glob(arg, recursive=True) if os.path.isfile(p))
            if not found:
                raise BatchError(f"{shown(arg)}: no files match")
            out.extend(found)
        else:
            out.append(arg)
    return out


_COLUMNS = {"file": "file", "path": "file", "trainee": "trainee", "stereo": "stereo", "stereo layout": "stereo",
            "stereo_layout": "stereo", "layout": "stereo", "title": "title"}


def read_manifest(path: str | os.PathLike, *, trainee: str | None = None,
                  stereo: StereoLayout | None = None) -> list[BatchItem]:
    """Items from a CSV manifest with a header row: ``file`` (required; relative to the manifest's folder),
    ``trainee``, ``stereo`` (e.g. ``agent=0,customer=1``), ``title``. Blank cells take ``trainee`` / ``stereo``.
    Raises BatchError naming the row for an unreadable manifest, a missing ``file`` column or a bad layout."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="surrogateescape")  # names as the file system has them
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"manifest {shown(path)} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    names = [_COLUMNS.get(h.strip().lower()) for h in header or ()]
    if "file" not in names:
        raise BatchError(f"manifest {shown(path)}: the header needs a 'file' column (and optionally trainee, "
                         f"stereo, title), got {header!r}")
    items = []
    for number, row in enumerate(rows, start=2):
        cells = {name: cell.strip() for name, cell in zip(names, row) if name}
        if not any(cells.values()):
            continue  # blank line
        if not cells.get("file"):
            raise BatchError(f"manifest {shown(path)} row {number}: no file")
        try:
            layout = StereoLayout.parse(cells["stereo"]) if cells.get("stereo") else stereo
        except ConfigError as exc:
            raise BatchError(f"manifest {shown(path)} row {number}: {exc}") from None
        items.append(BatchItem(str(path.parent / cells["file"]), cells.get("trainee") or trainee, layout,
                               cells.get("title") or None))
    return items
