"""Pace: syllable nuclei (de Jong & Wempe 2009) without a transcript, words per minute with one.

>>> import numpy as np
>>> from voicerehearse.settings import DEFAULTS
>>> from voicerehearse.analysis.frames import framed_from_settings, speech_activity
>>> from voicerehearse.analysis.tone import measure_voice
>>> s, sr = DEFAULTS, 16000
>>> t = np.arange(2 * sr) / sr
>>> y = (0.2 * np.sin(2 * np.pi * 150 * t) * np.sin(np.pi * 4 * t) ** 2).astype(np.float32)  # 8 syllables
>>> f = framed_from_settings(y, sr, s)
>>> act = speech_activity(f, s)
>>> len(syllable_nuclei(f, activity=act, track=measure_voice(f, act, s).track, settings=s))
8
"""

from __future__ import annotations

import numpy as np

from voicerehearse.analysis.frames import Framed, spans_to_mask
from voicerehearse.analysis.pitch import PitchTrack
from voicerehearse.levels import power_db
from voicerehearse.settings import Settings
from voicerehearse.types import PaceMetrics, SpeechActivity, Transcript


def _smoothed_db(framed: Framed, width: int) -> np.ndarray:
    if width <= 1:
        return framed.db
    kernel = np.hanning(width + 2)[1:-1]
    power = np.convolve(framed.power, kernel / kernel.sum(), mode="same")
    return power_db(power)


def syllable_nuclei(framed: Framed, *, activity: SpeechActivity, track: PitchTrack, settings: Settings) -> np.ndarray:
    """Frame indices of syllable nuclei: level peaks inside speech, separated by dips of at least
    ``syllable_min_dip_db`` on both sides, that are voiced. Returns (k,) int array."""
    db = _smoothed_db(framed, int(round(settings.syllable_smoothing_s / framed.hop_s)))
    speech = spans_to_mask(activity.segments, framed.n_frames, framed.hop_s)
    peaks = np.flatnonzero(
        (db[1:-1] > db[:-2]) & (db[1:-1] >= db[2:]) & speech[1:-1] & (db[1:-1] > activity.threshold_dbfs)
    ) + 1
    dip = settings.syllable_min_dip_db
    kept: list[int] = []
    current = None
    for p in peaks:
        if current is None:
            current = p
            continue
        valley = db[current : p + 1].min()
        if db[current] - valley >= dip and db[p] - valley >= dip:
            kept.append(current)
            current = p
        elif db[p] > db[current]:
            current = p
    if current is not None:
        kept.append(current)
    nuclei = np.asarray(kept, dtype=np.int64)
    if nuclei.size == 0 or track.frames.size == 0:
        return nuclei[:0]
    # voiced: the nearest tracked frame within 20 ms has a pitch
    voiced_frames = track.frames[track.voiced]
    if voiced_frames.size == 0:
        return nuclei[:0]
    pos = np.clip(np.searchsorted(voiced_frames, nuclei), 1, voiced_frames.size - 1)
    nearest = np.minimum(np.abs(voiced_frames[pos] - nuclei), np.abs(voiced_frames[pos - 1] - nuclei))
    if voiced_frames.size == 1:
        nearest = np.abs(voiced_frames[0] - nuclei)
    return nuclei[nearest * framed.hop_s <= 0.02 + 1e-9]


def pace_metrics(nuclei: np.ndarray, *, activity: SpeechActivity, transcript: Transcript | None,
                 turn_gap_s: float | None = None) -> PaceMetrics:
    """Syllable rate over the speech span, articulation rate over speaking time, and words per minute
    (words / first word start .. last word end; over the speech span for untimed transcripts).

    ``turn_gap_s`` (a call, where the other side talks in between): the time is the speaker's own turns only —
    speech joined across pauses shorter than ``turn_gap_s`` — so the customer's turns do not slow the agent down.

    >>> from voicerehearse.types import PauseStats, Span, Word
    >>> turns = SpeechActivity((Span(0.0, 3.0), Span(13.0, 16.0)), 6.0, PauseStats(1, 10.0, 10.0), -40.0)
    >>> said = Transcript("file", None, "", tuple(Word("w", t, t + 0.5) for t in (0, .5, 1, 1.5, 2, 2.5, 13, 13.5,
    ...                                                                       14, 14.5, 15, 15.5)))
    >>> float(pace_metrics(np.zeros(0), activity=turns, transcript=said).words_per_minute)  # over the whole 16 s
    45.0
    >>> float(pace_metrics(np.zeros(0), activity=turns, transcript=said, turn_gap_s=1.5).words_per_minute)
    120.0
    """
    count = int(nuclei.size)
    if not activity.has_speech:
        return PaceMetrics(None, None, None, 0, len(transcript.words) if transcript else None)
    span = activity.segments[-1].end - activity.segments[0].start
    if turn_gap_s is not None:
        span = _talk_time(activity.segments, turn_gap_s) or span
    wpm = None
    n_words = None
    if transcript is not None:
        words = [w for w in transcript.words if w.word != "[unk]"]
        n_words = len(words)
        if transcript.timed and len(words) >= 2:
            duration = words[-1].end - words[0].start
            if turn_gap_s is not None:
                duration = _talk_time(activity.segments, turn_gap_s, words[0].start, words[-1].end) or duration
            wpm = 60.0 * n_words / duration if duration > 0 else None
        elif words:
            wpm = 60.0 * n_words / span
    return PaceMetrics(
        words_per_minute=wpm,
        syllables_per_second=count / span if span > 0 else None,
        articulation_rate=count / activity.speaking_time_s if activity.speaking_time_s > 0 else None,
        syllable_count=count,
        word_count=n_words,
    )


def _talk_time(segments, gap_s: float, start: float | None = None, end: float | None = None) -> float:
    """Seconds of the speaker's turns (segments joined across gaps shorter than ``gap_s``) within start..end."""
    runs: list[list[float]] = []
    for seg in segments:
        if runs and seg.start - runs[-1][1] < gap_s:
            runs[-1][1] = max(runs[-1][1], seg.end)
        else:
            runs.append([seg.start, seg.end])
    lo = -np.inf if start is None else start
    hi = np.inf if end is None else end
    return float(sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in runs))
