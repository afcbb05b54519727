"""Transcript files given with ``--transcript``: plain text, or JSON words with start/end.

JSON may be a list of words, an object with ``words`` (our own transcript schema) or ``result``
(a Vosk final result). Each word needs ``word`` (or ``text``); ``start``/``end`` are seconds.

>>> import json, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.json"
>>> _ = p.write_text(json.dumps([{"word": "hello", "start": 0.5, "end": 0.9}]))
>>> read_transcript(p).words[0].end
0.9
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from voicerehearse.errors import TranscriptFormatError
from voicerehearse.types import Transcript, Word


def _number(value: object, what: str, path: Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TranscriptFormatError(f"{path}: {what} must be a number of seconds, got {value!r}")
    return float(value)


def words_from_json(items: object, path: Path) -> tuple[Word, ...]:
    if not isinstance(items, list):
        raise TranscriptFormatError(f"{path}: expected a list of words")
    words = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise TranscriptFormatError(f"{path}: word {i} is not an object")
        text = item.get("word", item.get("text"))
        if not isinstance(text, str) or not text.strip():
            raise TranscriptFormatError(f"{path}: word {i} has no 'word' text")
        start = _number(item.get("start"), f"word {i} start", path)
        end = _number(item.get("end"), f"word {i} end", path)
        if (start is None) != (end is None) or (start is not None and end < start):
            raise TranscriptFormatError(f"{path}: word {i} ({text!r}) needs start <= end")
        conf = _number(item.get("conf"), f"word {i} conf", path)
        words.append(Word(text.strip(), start, end, conf))
    return tuple(words)


def read_transcript(path: str | os.PathLike) -> Transcript:
    """Read a plain-text or JSON transcript file into a :class:`Transcript` (engine ``"file"``)."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TranscriptFormatError(f"transcript not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptFormatError(f"cannot read transcript {path}: {exc}") from None
    stripped = raw.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TranscriptFormatError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
        if isinstance(data, dict):
            items = data.get("words", data.get("result"))
            if items is None:
                raise TranscriptFormatError(f"{path}: JSON object has neither 'words' nor 'result'")
        else:
            items = data
        words = words_from_json(items, path)
        text = data.get("text") if isinstance(data, dict) and isinstance(data.get("text"), str) else None
        return Transcript("file", None, text or " ".join(w.word for w in words), words)
    words = tuple(Word(token, None, None) for token in raw.split())
    return Transcript("file", None, " ".join(w.word for w in words), words)
