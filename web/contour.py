"""Per-recording display data computed from the audio: waveform peaks and loudness/pitch contours.

Both use the analysis package's own framing and pitch helpers, so what is drawn is what was measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from voicerehearse.delivery import normal_band
from voicerehearse.settings import Settings
from voicerehearse.types import Span, ToneMetrics


@lru_cache(maxsize=64)
def _peaks(path: str, mtime: float, points: int) -> dict:
    info = sf.info(path)
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    y = np.abs(data)
    if y.shape[1] > 2:  # draw two channels side by side at most; more are summarised as one
        y = y.max(axis=1, keepdims=True)
    n = max(1, min(points, y.shape[0]))
    edges = np.linspace(0, y.shape[0], n + 1).astype(int)[:-1]
    channels = [np.maximum.reduceat(y[:, c], edges) if y.shape[0] else np.zeros(1) for c in range(y.shape[1])]
    return {"peaks": [[round(float(v), 4) for v in ch] for ch in channels],
            "duration": round(info.frames / info.samplerate, 4)}


def peaks(path: Path, points: int = 1200) -> dict:
    """``{"peaks": [[max |sample| per bucket] per channel (1 or 2)], "duration": seconds}`` of an audio file.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> sf.write(p, np.stack([np.ones(1600) * 0.5, np.zeros(1600)], axis=1), 16000)
    >>> out = peaks(Path(p), 4)
    >>> out["peaks"], out["duration"]
    ([[0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]], 0.1)
    """
    return _peaks(str(path), path.stat().st_mtime, points)


@lru_cache(maxsize=32)
def _contour(path: str, mtime: float, channel: int | None, segments: tuple[tuple[float, float], ...],
             settings: Settings) -> dict:
    from voicerehearse.analysis.frames import framed_from_settings, spans_to_mask, speech_activity
    from voicerehearse.analysis.tone import measure_voice
    from voicerehearse.audio.io import load_audio

    audio = load_audio(path, settings=settings, keep_channels=channel is not None)
    if channel is not None and audio.samples.ndim == 2 and channel < audio.samples.shape[0]:
        audio = audio.channel(channel)  # a two-channel call: the agent's side only
    elif audio.samples.ndim == 2:
        audio = load_audio(path, settings=settings)
    framed = framed_from_settings(audio.samples, audio.sample_rate, settings)
    # the trainee's speech as the analysis found it (prompt bleed already removed), not found again here
    spans = tuple(Span(a, b) for a, b in segments)
    activity = speech_activity(framed, settings, mask=spans_to_mask(spans, framed.n_frames, framed.hop_s))
    voice = measure_voice(framed, activity, settings)
    step = max(1, int(round(0.05 / framed.hop_s)))  # 50 ms points
    db = framed.db
    n = db.size // step
    level = db[: n * step].reshape(n, step).mean(axis=1) if n else np.zeros(0)
    active = np.zeros(db.size, bool)
    for seg in activity.segments:
        active[framed.frame_of(seg.start): framed.frame_of(seg.end) + 1] = True
    act = active[: n * step].reshape(n, step).any(axis=1) if n else np.zeros(0, bool)
    loud_pts = [[round((i + 0.5) * step * framed.hop_s, 3), round(float(v), 1)] for i, (v, a) in
                enumerate(zip(level, act)) if a]
    track = voice.track
    pitch_pts = [[round(float(f) * framed.hop_s, 3), round(float(hz), 1)] for f, hz in zip(track.frames, track.f0_hz)
                 if math.isfinite(hz)]
    return {"duration": round(audio.duration_s, 3), "loudness": loud_pts, "pitch": pitch_pts}


def contour(path: Path, segments: Sequence[Span], tone: ToneMetrics | None, settings: Settings,
            channel: int | None = None) -> dict:
    """Loudness (dBFS, speech only, 50 ms) and pitch (Hz, voiced frames) over time, with the baseline bands.

    ``segments`` and ``tone``: the turn's analysed speech segments and tone (its reference levels), used as they
    are; None/() for a turn without an analysis (the default level, no pitch band).
    ``channel``: in a two-channel call, the agent's channel (the side that was judged)."""
    base_loud = tone.baseline_loudness_db if tone is not None else None
    base_loud = settings.default_loudness_dbfs if base_loud is None else base_loud
    base_pitch = tone.baseline_pitch_hz if tone is not None else None
    spans = tuple((s.start, s.end) for s in segments)
    out = dict(_contour(str(path), path.stat().st_mtime, channel, spans, settings))
    out["baseline"] = {
        "loudness_db": round(base_loud, 2),
        "loudness_band": [round(base_loud + d, 2) for d in normal_band("loudness", settings)],
        "pitch_hz": round(base_pitch, 1) if base_pitch else None,
        "pitch_band": [round(base_pitch * 2 ** (d / 12), 1) for d in normal_band("pitch", settings)]
        if base_pitch else None,
        "name": tone.baseline if tone is not None else None,
    }
    return out
