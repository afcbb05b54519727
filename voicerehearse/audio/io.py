"""Load, validate, downmix and resample audio files for analysis.

Any format libsndfile reads (WAV, FLAC, OGG, MP3 on recent builds), any rate, any channel count.

>>> import numpy as np, soundfile as sf, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
>>> sf.write(path, 0.1 * np.sin(np.arange(44100) / 44100 * 2 * np.pi * 220), 44100)
>>> audio = load_audio(path)
>>> audio.sample_rate, round(audio.duration_s, 3), audio.samples.ndim
(16000, 1.0, 1)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from voicerehearse.errors import AudioDurationError, AudioFormatError
from voicerehearse.settings import load_settings
from voicerehearse.types import Audio


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample along the last axis (soxr, high quality). ``y``: (n,) or (channels, n) float32."""
    if orig_sr == target_sr:
        return y.astype(np.float32, copy=False)
    import soxr

    if y.ndim == 1:
        return soxr.resample(y, orig_sr, target_sr).astype(np.float32, copy=False)
    return np.ascontiguousarray(soxr.resample(y.T, orig_sr, target_sr).T, dtype=np.float32)


def probe(path: str | os.PathLike) -> sf._SoundFileInfo:
    """File-level checks that need no decoding: exists, is audio, not empty."""
    path = Path(path)
    if not path.is_file():
        raise AudioFormatError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFormatError(f"{path}: not a readable audio file ({exc})") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioFormatError(f"{path}: the file holds no audio")
    return info


def load_audio(path: str | os.PathLike, *, settings=None, keep_channels: bool = False) -> Audio:
    """Read ``path`` into a validated :class:`Audio` at the analysis rate.

    Mono (channels averaged) unless ``keep_channels``; then shape (channels, n).
    Raises AudioFormatError (unreadable, empty, NaN/inf) or AudioDurationError (outside the limits).
    """
    settings = settings or load_settings()
    info = probe(path)
    duration = info.frames / info.samplerate
    _check_duration(path, duration, settings)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFormatError(f"{path}: cannot decode audio ({exc})") from None
    if data.shape[0] == 0:
        raise AudioFormatError(f"{path}: the file holds no audio")
    if not np.isfinite(data).all():
        raise AudioFormatError(f"{path}: the audio holds NaN or infinite samples")
    return from_array(data.T, sr, settings=settings, keep_channels=keep_channels, path=str(path))


def from_array(
    y: np.ndarray, sr: int, *, settings=None, keep_channels: bool = False, path: str | None = None
) -> Audio:
    """Validate in-memory samples, shape (n,) or (channels, n), the same way files are."""
    settings = settings or load_settings()
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[np.newaxis, :]
    if y.ndim != 2 or y.shape[1] == 0:
        raise AudioFormatError(f"{path or 'audio'}: expected (n,) or (channels, n) samples with n > 0")
    if not np.isfinite(y).all():
        raise AudioFormatError(f"{path or 'audio'}: the audio holds NaN or infinite samples")
    _check_duration(path or "audio", y.shape[1] / sr, settings)
    channels = y.shape[0]
    y = y - y.mean(axis=1, keepdims=True)  # a biased mic's DC offset is not sound
    if not keep_channels or channels == 1:
        y = y.mean(axis=0) if channels > 1 else y[0]
    target = settings.analysis_sample_rate_hz
    return Audio(resample(y, orig_sr=sr, target_sr=target), target, sr, channels, path)


def _check_duration(path, duration: float, settings) -> None:
    if duration < settings.min_duration_s:
        raise AudioDurationError(
            f"{path}: {duration:.2f} s of audio is shorter than min_duration_s={settings.min_duration_s:g} s"
        )
    if duration > settings.max_duration_s:
        raise AudioDurationError(
            f"{path}: {duration:.0f} s of audio is longer than max_duration_s={settings.max_duration_s:g} s"
        )
