"""The pinned JSON form of an analysis (``voicerehearse.analysis/1``), one object per input file.

Documented in docs/analysis-schema.md and locked by tests/test_schema.py: add fields freely, never rename
or remove one without bumping the version.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from functools import lru_cache
from typing import Any

from voicerehearse.errors import StoreFormatError, VoiceRehearseError
from voicerehearse.types import Analysis

SCHEMA = "voicerehearse.analysis/1"
_SECTIONS = ("transcript", "speech", "pace", "tone", "turn", "stereo", "delivery", "flags")


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar that slipped through
        return _clean(value.item())
    return value


def analysis_record(analysis: Analysis) -> dict[str, Any]:
    """The JSON-ready dict of one analysis."""
    body = dataclasses.asdict(analysis)
    record = {
        "schema": SCHEMA,
        "file": body["file"],
        "duration_s": body["duration_s"],
        "sample_rate": body["sample_rate"],
        "channels": body["channels"],
        "truncated": body["truncated"],
        "error": None,
    }
    for key in _SECTIONS:
        record[key] = body[key]
    record["cues"] = body["cues"]
    return _clean(record)


def error_record(file: str, error: VoiceRehearseError) -> dict[str, Any]:
    """The line written for a file that could not be analysed: every section null, ``error`` set."""
    record = {"schema": SCHEMA, "file": file, "duration_s": None, "sample_rate": None, "channels": None,
              "truncated": None,
              "error": {"type": error.kind, "message": str(error)}}
    record.update({key: None for key in _SECTIONS})
    record["flags"] = []
    record["cues"] = []
    return record


@lru_cache(maxsize=None)
def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)  # the names of the class's own module (types, calls, report...)


def from_json(kind: Any, value: Any) -> Any:
    """``value`` (parsed JSON) as ``kind``: a frozen dataclass (fields by name, nested ones too), a tuple, an
    optional; keys the dataclass does not have are ignored. Raises TypeError or ValueError when it does not fit.

    >>> from voicerehearse.types import Word
    >>> from_json(tuple[Word, ...], [{"word": "hi", "start": 1, "end": 1.5, "new": 0}])
    (Word(word='hi', start=1.0, end=1.5, conf=None),)
    """
    return _build(kind, value)


def _build(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return _build(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        args = typing.get_args(kind)
        item = args[0] if args else Any
        return tuple(_build(item, v) for v in value)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise TypeError(f"{kind.__name__} needs an object, got {type(value).__name__}")
        hints = _hints(kind)
        names = {f.name for f in dataclasses.fields(kind) if f.init}
        return kind(**{k: _build(hints[k], v) for k, v in value.items() if k in names})
    if kind is float and isinstance(value, int):
        return float(value)
    return value


def analysis_from_record(record: dict[str, Any]) -> Analysis:
    """The typed :class:`~voicerehearse.types.Analysis` of a stored record (the inverse of :func:`analysis_record`);
    fields a newer writer added are ignored, fields an older one lacked take their defaults.
    Raises StoreFormatError for an error record or one that is not this schema.

    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> from voicerehearse.pipeline import analyze_file
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> t = np.arange(32000) / 16000
    >>> sf.write(path, 0.1 * np.sin(2 * np.pi * 180 * t) * np.sin(np.pi * 4 * t) ** 2, 16000)
    >>> a = analyze_file(path)
    >>> analysis_from_record(analysis_record(a)).tone.pitch_median_hz == round(a.tone.pitch_median_hz, 4)
    True
    """
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise StoreFormatError(f"not a {SCHEMA} record")
    if record.get("error"):
        raise StoreFormatError(f"{record.get('file')}: the record holds an error, not an analysis")
    try:
        return _build(Analysis, record)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise StoreFormatError(f"{record.get('file')}: the stored analysis cannot be read: {exc}") from None
