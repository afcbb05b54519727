"""The pinned JSON form of an analysis (``voicerehearse.analysis/1``), one object per input file.

Documented in docs/analysis-schema.md and locked by tests/test_schema.py: add fields freely, never rename
or remove one without bumping the version.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from voicerehearse.errors import VoiceRehearseError
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
        "error": None,
    }
    for key in _SECTIONS:
        record[key] = body[key]
    record["cues"] = body["cues"]
    return _clean(record)


def error_record(file: str, error: VoiceRehearseError) -> dict[str, Any]:
    """The line written for a file that could not be analysed: every section null, ``error`` set."""
    record = {"schema": SCHEMA, "file": file, "duration_s": None, "sample_rate": None, "channels": None,
              "error": {"type": error.kind, "message": str(error)}}
    record.update({key: None for key in _SECTIONS})
    record["flags"] = []
    record["cues"] = []
    return record
