"""Stored analysis records (schema voicerehearse.analysis/1) of small made-up analyses, for tests of what reads
them back: every section present, the named parts set, the rest empty."""

from __future__ import annotations

from dataclasses import replace

from voicerehearse.schema import analysis_record
from voicerehearse.types import (Analysis, Flag, PaceMetrics, PauseStats, Span, SpeechActivity, StyleScores,
                                 ToneMetrics, Transcript, Verdict, Word)


def analysis(*, duration_s: float = 4.0, segments=(), words=None, engine: str = "file", model: str | None = None,
             note: str | None = None, flags=(), label: str = "assertive", tone: dict | None = None,
             pace: dict | None = None) -> Analysis:
    """``words``: (word, start, end, conf) tuples (start None: an untimed transcript); ``tone``/``pace``: fields
    of ToneMetrics / PaceMetrics to set; ``flags``: Flag objects; ``segments``: (start, end) speech spans."""
    spans = tuple(Span(s, e) for s, e in segments)
    transcript = None
    if words is not None:
        ws = tuple(Word(w, s, e, c) for w, s, e, c in words)
        transcript = Transcript(engine, model, " ".join(w.word for w in ws), ws, note)
    return Analysis(
        file="take.wav", duration_s=duration_s, sample_rate=16000, channels=1, transcript=transcript,
        speech=SpeechActivity(spans, sum(s.duration_s for s in spans), PauseStats(max(len(spans) - 1, 0), None, None),
                              -40.0),
        pace=replace(PaceMetrics(None, None, None, 0, None), **(pace or {})),
        tone=replace(ToneMetrics(None, None, None, None, None, None, None, None, "absolute defaults"), **(tone or {})),
        turn=None, stereo=None, cues=(), delivery=Verdict(label, StyleScores(0.0, 0.0, 0.0), ()), flags=tuple(flags))


def record(**parts) -> dict:
    """The stored record of :func:`analysis` with ``parts``."""
    return analysis_record(analysis(**parts))


__all__ = ["analysis", "record", "Flag"]
