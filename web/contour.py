"""Per-recording display data for the replay page: waveform peaks and loudness/pitch contours.

Both are read from the small derived file stored beside the recording (:mod:`voicerehearse.derived`, written when
the take was stored); a recording stored before it existed gets it computed block by block on its first view and
written, so the audio is never loaded whole in a request and the next view reads the small file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from voicerehearse.delivery import normal_band
from voicerehearse.derived import WAVEFORM_POINTS, ContourSpec, stored_contour, stored_waveform
from voicerehearse.settings import Settings
from voicerehearse.types import Span, ToneMetrics


def peaks(path: Path, points: int = WAVEFORM_POINTS) -> dict:
    """``{"peaks": [[max |sample| per bucket] per channel (1 or 2)], "duration": seconds}`` of an audio file.
    Raises AudioFormatError when it is not readable audio.

    >>> import os, tempfile, numpy as np, soundfile as sf
    >>> p = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> sf.write(p, np.stack([np.ones(1600) * 0.5, np.zeros(1600)], axis=1), 16000)
    >>> out = peaks(Path(p), 4)
    >>> out["peaks"], out["duration"]
    ([[0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]], 0.1)
    """
    wave = stored_waveform(path, points=points)
    return {"peaks": [list(ch) for ch in wave.peaks], "duration": wave.duration_s}


def contour(path: Path, segments: Sequence[Span], tone: ToneMetrics | None, settings: Settings,
            channel: int | None = None) -> dict:
    """Loudness (dBFS, speech only, 50 ms) and pitch (Hz, voiced frames) over time, with the baseline bands;
    coarser points for a long call (``join_s``: the chart joins points at most that far apart).

    ``segments`` and ``tone``: the turn's analysed speech segments and tone (its reference levels), used as they
    are; None/() for a turn without an analysis (the default level, no pitch band).
    ``channel``: in a two-channel call, the agent's channel (the side that was judged)."""
    base_loud = tone.baseline_loudness_db if tone is not None else None
    base_loud = settings.default_loudness_dbfs if base_loud is None else base_loud
    base_pitch = tone.baseline_pitch_hz if tone is not None else None
    out = stored_contour(path, ContourSpec(tuple(segments), channel), settings=settings).as_json()
    out["baseline"] = {
        "loudness_db": round(base_loud, 2),
        "loudness_band": [round(base_loud + d, 2) for d in normal_band("loudness", settings)],
        "pitch_hz": round(base_pitch, 1) if base_pitch else None,
        "pitch_band": [round(base_pitch * 2 ** (d / 12), 1) for d in normal_band("pitch", settings)]
        if base_pitch else None,
        "name": tone.baseline if tone is not None else None,
    }
    return out
