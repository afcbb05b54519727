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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from voicerehearse.errors import AudioDurationError, AudioFormatError
from voicerehearse.settings import DEFAULTS, Settings
from voicerehearse.types import Audio


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample along the last axis (soxr, high quality). ``y``: (n,) or (channels, n) float32."""
    if orig_sr == target_sr:
        return y.astype(np.float32, copy=False)
    import soxr

    if y.ndim == 1:
        return soxr.resample(y, orig_sr, target_sr).astype(np.float32, copy=False)
    return np.ascontiguousarray(soxr.resample(y.T, orig_sr, target_sr).T, dtype=np.float32)


_BLOCK_FRAMES = 1 << 14  # source frames decoded at a time: bounds memory, and what a damaged tail can lose


def shown(path: str | os.PathLike) -> str:
    """A file name that can always be printed, also when it is not valid UTF-8 (undecodable bytes become U+FFFD).

    >>> shown(os.fsdecode(bytes([99, 97, 102, 233]))) == "caf\ufffd"
    True
    """
    return os.fsencode(path).decode("utf-8", "replace")


def _why(exc: Exception) -> str:
    """libsndfile's own reason ("Format not recognised"), without the Python object it was opening."""
    return str(getattr(exc, "error_string", "") or exc)


def _encodable(path) -> bool:
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def open_file(path: str | os.PathLike):
    """The file opened for libsndfile: by name (so extension-only formats such as raw .gsm are recognised), or
    through a Python file object when the name is not valid UTF-8 (libsndfile cannot take such names)."""
    return _Named(path) if _encodable(path) else open(os.fsencode(path), "rb")


class _Named:
    """A context manager standing for a file libsndfile opens by its own name."""

    def __init__(self, path):
        self.name = os.fspath(path)

    def __enter__(self) -> str:
        return self.name

    def __exit__(self, *exc) -> None:
        return None


def probe(path: str | os.PathLike, settings: Settings = DEFAULTS) -> sf._SoundFileInfo:
    """Checks that need no decoding: exists, is audio, not empty, and a sample rate, channel
    count, duration and decoded size (frames x channels) inside the bounds of ``settings``."""
    path = Path(path)
    if not path.is_file():
        raise AudioFormatError(f"{shown(path)}: no such file")
    try:
        with open_file(path) as fh:
            info = sf.info(fh)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFormatError(f"{shown(path)}: not a readable audio file ({_why(exc)})") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioFormatError(f"{shown(path)}: the file holds no audio")
    check_bounds(path, info.samplerate, info.channels, info.frames, settings)
    return info


def check_bounds(path, sr: int, channels: int, frames: int, settings: Settings) -> None:
    """AudioFormatError / AudioDurationError when a header's rate, channel count, duration or decoded size
    (frames x channels) is outside the settings' bounds: checked before anything is decoded."""
    if not settings.min_sample_rate_hz <= sr <= settings.max_sample_rate_hz:
        raise AudioFormatError(
            f"{shown(path)}: a sample rate of {sr} Hz is outside min_sample_rate_hz={settings.min_sample_rate_hz} .. "
            f"max_sample_rate_hz={settings.max_sample_rate_hz}"
        )
    if channels > settings.max_channel_count:
        raise AudioFormatError(
            f"{shown(path)}: {channels} channels is more than max_channel_count={settings.max_channel_count}"
        )
    _check_duration(path, frames / sr, settings)
    if frames * channels > settings.max_decoded_sample_count:
        raise AudioDurationError(
            f"{shown(path)}: {frames} frames x {channels} channels = {frames * channels} samples is more than "
            f"max_decoded_sample_count={settings.max_decoded_sample_count}"
        )


def _blocks(f: sf.SoundFile, frames: int):
    """Decoded (k, channels) float32 blocks of the first ``frames`` frames of the open file ``f``; stops early
    (without raising) when the decoder fails on a damaged tail, so callers see how much decoded."""
    done = 0
    while done < frames:
        try:
            block = f.read(min(_BLOCK_FRAMES, frames - done), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError):
            return
        if block.shape[0] == 0:
            return
        done += block.shape[0]
        yield block


@dataclass(frozen=True, eq=False)
class AudioStream:
    """A validated audio file read at the analysis rate block by block, any number of times, never held whole:
    each :meth:`chunks` decodes the file anew (DC-corrected, downmixed unless ``keep_channels``, resampled).

    What :func:`load_audio` holds in memory, without holding it: a 3-hour call is a few blocks at a time.

    >>> import soundfile as sf, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> sf.write(path, 0.1 * np.sin(np.arange(44100) / 44100 * 2 * np.pi * 220), 44100)
    >>> stream = open_audio(path)
    >>> stream.channels, sum(c.shape[1] for c in stream.chunks()), round(stream.duration_s, 3)
    (1, 16000, 1.0)
    """

    path: str
    sample_rate: int  # analysis rate (after resampling)
    source_sample_rate: int  # rate of the file as read
    source_channels: int  # channel count of the file as read
    source_frames: int  # frames of the file that decode
    keep_channels: bool  # chunks keep the file's channels apart (else their mean, one row)
    dc: np.ndarray = field(repr=False)  # (source_channels,) DC offset of each channel, removed from every chunk
    truncated: bool = False  # the file's tail does not decode: only the part before it is read

    @property
    def channels(self) -> int:
        """Rows of each chunk: the file's channels when kept apart, else 1."""
        return self.source_channels if self.keep_channels else 1

    @property
    def duration_s(self) -> float:
        return self.source_frames / self.source_sample_rate

    def chunks(self):
        """One pass over the file: consecutive (channels, k) float32 chunks at the analysis rate.
        Raises AudioFormatError when the file no longer decodes."""
        try:
            with open_file(self.path) as fh, sf.SoundFile(fh) as f:
                yield from _decoded(f, self.source_frames, self.dc, self.keep_channels, self.sample_rate)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioFormatError(f"{shown(self.path)}: cannot decode audio ({_why(exc)})") from None


def open_audio(path: str | os.PathLike, *, settings: Settings = DEFAULTS, keep_channels: bool = False) -> AudioStream:
    """Validate ``path`` for analysis without loading it: bounds (rate, channels, duration, decoded size) from the
    header, then one decoding pass for finiteness, the DC offset of each channel and how much of the file really
    decodes (a file cut short keeps what decoded, with ``truncated`` set). Raises AudioFormatError (unreadable,
    out of bounds, empty, NaN/inf) or AudioDurationError (outside the limits).

    >>> import soundfile as sf, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "stereo.wav")
    >>> sf.write(path, np.full((8000, 2), 0.5), 8000)
    >>> s = open_audio(path, keep_channels=True)
    >>> s.channels, s.source_sample_rate, s.sample_rate, float(abs(np.concatenate(list(s.chunks()), axis=1)).max())
    (2, 8000, 16000, 0.0)
    """
    info = probe(path, settings)
    try:
        with open_file(path) as fh, sf.SoundFile(fh) as f:
            sr, channels = f.samplerate, f.channels
            total, dc = 0, np.zeros(channels)
            for block in _blocks(f, info.frames):
                if not np.isfinite(block).all():
                    raise AudioFormatError(f"{shown(path)}: the audio holds NaN or infinite samples")
                dc += block.sum(axis=0, dtype=np.float64)
                total += block.shape[0]
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFormatError(f"{shown(path)}: cannot decode audio ({_why(exc)})") from None
    if total == 0:
        raise AudioFormatError(f"{shown(path)}: the file holds no audio")
    _check_duration(path, total / sr, settings)
    dc = (dc / total).astype(np.float32)  # a biased mic's DC offset is not sound
    return AudioStream(os.fspath(path), settings.analysis_sample_rate_hz, sr, channels, total,
                       keep_channels and channels > 1, dc, truncated=total < info.frames)


def load_audio(path: str | os.PathLike, *, settings: Settings = DEFAULTS, keep_channels: bool = False) -> Audio:
    """Read ``path`` into a validated :class:`Audio` at the analysis rate.

    Mono (channels averaged) unless ``keep_channels``; then shape (channels, n). Checked and decoded as
    :func:`open_audio` does, block by block, so peak memory is the result plus a few blocks whatever the source
    format. A file whose tail does not decode (cut short) keeps what decoded, with ``Audio.truncated`` set.
    Raises AudioFormatError (unreadable, out of bounds, empty, NaN/inf) or AudioDurationError (outside the limits).
    """
    stream = open_audio(path, settings=settings, keep_channels=keep_channels)
    target, out_channels = stream.sample_rate, stream.channels
    out = np.empty((out_channels, -(-stream.source_frames * target // stream.source_sample_rate) + 64), np.float32)
    n = 0
    for chunk in stream.chunks():  # chunk: (out_channels, k)
        if n + chunk.shape[1] > out.shape[1]:  # the resampler's rounding: grow a little
            out = np.concatenate([out, np.empty((out_channels, chunk.shape[1] + 64), np.float32)], axis=1)
        out[:, n : n + chunk.shape[1]] = chunk
        n += chunk.shape[1]
    samples = out[0, :n] if out_channels == 1 else out[:, :n]
    return Audio(samples, target, stream.source_sample_rate, stream.source_channels, str(path),
                 truncated=stream.truncated)


def _decoded(f: sf.SoundFile, frames: int, dc: np.ndarray, keep_channels: bool, target: int):
    """The first ``frames`` frames of ``f`` minus ``dc``, averaged to mono unless ``keep_channels``, at ``target`` Hz:
    consecutive (channels, k) float32 chunks."""
    sr, out_channels = f.samplerate, (dc.shape[0] if keep_channels else 1)
    stream = None
    if sr != target:
        import soxr

        stream = soxr.ResampleStream(sr, target, out_channels, dtype="float32")
    for block in _blocks(f, frames):
        block = block - dc
        if not keep_channels and block.shape[1] > 1:
            block = block.mean(axis=1, keepdims=True)
        yield (block if stream is None else stream.resample_chunk(block)).T
    if stream is not None:
        yield stream.resample_chunk(np.zeros((0, out_channels), np.float32), last=True).T


def from_array(
    y: np.ndarray, sr: int, *, settings: Settings = DEFAULTS, keep_channels: bool = False, path: str | None = None
) -> Audio:
    """Validate in-memory samples, shape (n,) or (channels, n), the same way files are."""
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


def _check_duration(path, duration: float, settings: Settings) -> None:
    if duration < settings.min_duration_s:
        raise AudioDurationError(
            f"{shown(path)}: {duration:.2f} s of audio is shorter than min_duration_s={settings.min_duration_s:g} s"
        )
    if duration > settings.max_duration_s:
        raise AudioDurationError(
            f"{shown(path)}: {duration:.0f} s of audio is longer than max_duration_s={settings.max_duration_s:g} s"
        )
