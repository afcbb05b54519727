"""What the replay page draws of a recording, computed once and kept beside it: the waveform's peaks and the
loudness / pitch contours of the analysed speech.

Both are computed from the file read block by block (memory bounded whatever the length: a 3-hour call is a few
blocks at a time) with the analysis package's own framing and pitch helpers, so what is drawn is what was
measured. They are written, when a take is stored, as a small JSON file beside the recording
(``<recording>.derived.json``), atomically (a temporary file renamed), and read back by the web instead of the
audio. The file says which recording it was made of (size and modification time), in which format
(:data:`VERSION`) and, for each contour, from which analysis (:meth:`ContourSpec.key`): anything else is
computed again.

>>> import numpy as np, soundfile as sf, tempfile, os
>>> from voicerehearse.settings import DEFAULTS
>>> path = Path(tempfile.mkdtemp()) / "take.wav"
>>> sf.write(path, 0.1 * np.sin(2 * np.pi * 200 * np.arange(32000) / 16000), 16000)
>>> spec = ContourSpec(segments=(Span(0.5, 1.5),), channel=None)
>>> stored = store_derived(path, spec, settings=DEFAULTS)
>>> sidecar(path).is_file(), len(stored.waveform.peaks[0]), max(stored.waveform.peaks[0])
(True, 1200, 0.1)
>>> c = read_derived(path).contour(spec, DEFAULTS)
>>> min(t for t, _ in c.loudness), round(float(np.median([hz for _, hz in c.pitch])))
(0.525, 200)
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from voicerehearse.errors import AudioFormatError, StoreFormatError, VoiceRehearseError
from voicerehearse.settings import Settings
from voicerehearse.types import Analysis, Span

log = logging.getLogger(__name__)

VERSION = 1  # of the file's format and of what it holds: a change recomputes every stored file on first view
SUFFIX = ".derived.json"
WAVEFORM_POINTS = 1200  # peaks per channel drawn by the waveform (the web's WAVEFORM_PEAKS default)
CONTOUR_POINTS = 2000  # points per contour at most: the chart is 1000 units wide, drawn at up to 2 px a unit
LOUDNESS_STEP_S = 0.05  # a loudness point stands for this much audio, at least
JOIN_S = 0.12  # the chart joins points at most this far apart (a longer gap is a pause), at the finest step
_BLOCK_FRAMES = 1 << 16  # source frames read at a time for the peaks
_KEPT_CONTOURS = 4  # contours of one recording kept (a recording stored twice with different analyses)
# the settings a contour depends on: frame grid, speech segments from the analysis' spans, the pitch tracker
_CONTOUR_SETTINGS = ("analysis_sample_rate_hz", "frame_length_s", "hop_s", "min_pause_s", "min_speech_segment_s",
                     "pitch_min_hz", "pitch_max_hz", "pitch_window_s", "pitch_aperiodicity_max")


@dataclass(frozen=True)
class Waveform:
    """Peaks of a recording: per drawn channel (1 or 2; more channels are summarised as one), the largest
    ``|sample|`` of each of ``points`` equal stretches of the file."""

    points: int  # asked for (a file shorter than that many frames has one bucket per frame)
    duration_s: float
    peaks: tuple[tuple[float, ...], ...] = field(repr=False)


@dataclass(frozen=True)
class ContourSpec:
    """What a turn's contour shows: its analysed speech segments on the judged channel (the agent's of a
    two-channel call; None: the mix)."""

    segments: tuple[Span, ...]
    channel: int | None = None

    @classmethod
    def of(cls, analysis: Analysis | None) -> ContourSpec:
        """The spec of a stored turn's analysis; None (an error record, not analysed yet): no speech, the mix.

        >>> ContourSpec.of(None)
        ContourSpec(segments=(), channel=None)
        """
        if analysis is None:
            return cls(())
        stereo = analysis.stereo
        agent = next((s.channel for s in stereo.sides if s.side == "agent"), None) if stereo is not None else None
        return cls(tuple(analysis.speech.segments), agent)

    @classmethod
    def of_record(cls, record: dict | None) -> ContourSpec:
        """The spec of a stored analysis record (:func:`voicerehearse.schema.analysis_record`); an error record
        or one of another schema: no speech, the mix.

        >>> ContourSpec.of_record({"error": "too short"}).segments
        ()
        """
        from voicerehearse.schema import analysis_from_record

        try:
            return cls.of(analysis_from_record(record))
        except StoreFormatError:
            return cls(())

    def key(self, settings: Settings) -> str:
        """Names this spec under these settings: a stored contour of another key is not this one.

        >>> from voicerehearse.settings import DEFAULTS
        >>> ContourSpec((Span(1.0, 2.0),)).key(DEFAULTS) == ContourSpec((Span(1.0, 2.0),), None).key(DEFAULTS)
        True
        """
        parts = [self.channel, [[round(s.start, 4), round(s.end, 4)] for s in self.segments],
                 [getattr(settings, name) for name in _CONTOUR_SETTINGS], CONTOUR_POINTS]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Contour:
    """Loudness (dBFS, speech only) and pitch (Hz, voiced speech frames) over time, ``(time_s, value)`` pairs at
    the resolution the chart shows: 50 ms loudness points and per-frame pitch for a reply, coarser (a mean of the
    loudness points, a median of the pitch frames) when that would be more than :data:`CONTOUR_POINTS`."""

    key: str
    duration_s: float
    loudness: tuple[tuple[float, float], ...] = field(repr=False)
    pitch: tuple[tuple[float, float], ...] = field(repr=False)
    join_s: float = JOIN_S  # points further apart than this are not joined by a line

    def as_json(self) -> dict:
        return {"duration": self.duration_s, "loudness": [list(p) for p in self.loudness],
                "pitch": [list(p) for p in self.pitch], "join_s": self.join_s}


@dataclass(frozen=True)
class Derived:
    """The contents of a recording's derived file."""

    source: tuple[int, int]  # (size, mtime_ns) of the recording it was computed from
    waveform: Waveform | None = None
    contours: tuple[Contour, ...] = ()

    def contour(self, spec: ContourSpec, settings: Settings) -> Contour | None:
        key = spec.key(settings)
        return next((c for c in self.contours if c.key == key), None)


def sidecar(recording: Path) -> Path:
    """Where the derived file of ``recording`` lives: beside it, named after it.

    >>> sidecar(Path("audio/sha256/ab/abcd.wav")).as_posix()
    'audio/sha256/ab/abcd.wav.derived.json'
    """
    return recording.with_name(recording.name + SUFFIX)


def _source(recording: Path) -> tuple[int, int]:
    st = recording.stat()
    return st.st_size, st.st_mtime_ns


# ---------------------------------------------------------------- computing, block by block


def waveform_peaks(path: Path, *, points: int = WAVEFORM_POINTS) -> Waveform:
    """The :class:`Waveform` of an audio file, read block by block (the samples as stored, no correction).
    Raises AudioFormatError when the file is not readable audio.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.wav"
    >>> sf.write(p, np.stack([np.ones(1600) * 0.5, np.zeros(1600)], axis=1), 16000)
    >>> w = waveform_peaks(p, points=4)
    >>> w.peaks, w.duration_s
    (((0.5, 0.5, 0.5, 0.5), (0.0, 0.0, 0.0, 0.0)), 0.1)
    """
    from voicerehearse.audio.io import open_file, shown

    try:
        with open_file(path) as fh, sf.SoundFile(fh) as f:
            frames, rows = f.frames, (f.channels if f.channels <= 2 else 1)  # more than two: summarised as one
            n = max(1, min(points, frames))
            edges = np.linspace(0, frames, n + 1).astype(np.int64)[:-1]  # first frame of each bucket
            out = np.zeros((rows, n), np.float32)
            at = 0
            while True:
                try:
                    y = np.abs(f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True))
                except (sf.LibsndfileError, RuntimeError):
                    if at:
                        break  # a damaged tail: what decodes is drawn, as the analysis reads it
                    raise
                k = y.shape[0]
                if not k:
                    break
                if y.shape[1] != rows:
                    y = y.max(axis=1, keepdims=True)
                lo = int(np.searchsorted(edges, at, side="right")) - 1
                hi = int(np.searchsorted(edges, at + k - 1, side="right"))  # buckets lo..hi-1 meet this block
                local = np.maximum(edges[lo:hi] - at, 0)
                out[:, lo:hi] = np.maximum(out[:, lo:hi], np.maximum.reduceat(y, local, axis=0).T)
                at += k
            duration = frames / f.samplerate
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFormatError(f"{shown(path)}: not a readable audio file ({exc})") from None
    return Waveform(points, round(duration, 4), tuple(tuple(round(float(v), 4) for v in ch) for ch in out))


@dataclass(frozen=True)
class _Row:
    """A :class:`voicerehearse.analysis.frames.Signal` that is one row of another: the blocks of a pass hold only
    the channel drawn, not the whole call."""

    signal: object
    row: int

    def chunks(self):
        for chunk in self.signal.chunks():
            yield chunk[self.row : self.row + 1]


def compute_contour(path: Path, spec: ContourSpec, *, settings: Settings) -> Contour:
    """The :class:`Contour` of ``spec`` in an audio file, read block by block (a validation pass, the frame
    power, then the pitch of the speech frames only): memory a few blocks whatever the length. Raises
    AudioFormatError / AudioDurationError as :func:`voicerehearse.audio.io.open_audio` does."""
    from voicerehearse.analysis.frames import Downmix, frame_channels, frame_lengths, spans_to_mask, speech_activity
    from voicerehearse.analysis.tone import pitch_track
    from voicerehearse.audio.io import open_audio

    stream = open_audio(path, settings=settings, keep_channels=spec.channel is not None)
    signal = stream
    if stream.channels > 1:  # a two-channel call: the agent's side only
        signal = _Row(stream, spec.channel) if spec.channel is not None and spec.channel < stream.channels \
            else Downmix(stream)
    frame_length, hop_length = frame_lengths(stream.sample_rate, settings)
    (framed,) = frame_channels(signal, sr=stream.sample_rate, frame_length=frame_length, hop_length=hop_length)
    # the trainee's speech as the analysis found it (prompt bleed already removed), not found again here
    activity = speech_activity(framed, settings, mask=spans_to_mask(spec.segments, framed.n_frames, framed.hop_s))
    active = spans_to_mask(activity.segments, framed.n_frames, framed.hop_s)
    speech = np.flatnonzero(active)
    f0 = pitch_track(framed, speech, settings).f0_hz  # the values the analysis tracked, no tone spectra
    for seg in activity.segments:  # the loudness lane also shows the frame a segment ends in
        active[framed.frame_of(seg.start) : framed.frame_of(seg.end) + 1] = True
    hop = framed.hop_s
    step = max(1, int(round(LOUDNESS_STEP_S / hop)))  # frames per loudness step
    group = max(1, math.ceil(framed.n_frames / CONTOUR_POINTS / step))  # loudness steps per point
    pitch_group = max(1, math.ceil(framed.n_frames / CONTOUR_POINTS))  # pitch frames per point
    return Contour(spec.key(settings), round(framed.duration_s, 3),
                   _loudness(framed.db, active, step=step, group=group, hop_s=hop),
                   _pitch(speech, f0, group=pitch_group, hop_s=hop),
                   round(max(JOIN_S, 2.4 * group * step * hop), 3))


def _loudness(db: np.ndarray, active: np.ndarray, *, step: int, group: int, hop_s: float):
    """Mean level of each ``step``-frame step with speech, then the mean of those in each ``group`` of steps."""
    n = db.size // step
    if not n:
        return ()
    level = db[: n * step].reshape(n, step).mean(axis=1)
    act = active[: n * step].reshape(n, step).any(axis=1)
    m = -(-n // group)
    padded = np.zeros(m * group)
    padded[:n] = np.where(act, level, 0.0)
    counts = np.zeros(m * group)
    counts[:n] = act
    sums, hits = padded.reshape(m, group).sum(axis=1), counts.reshape(m, group).sum(axis=1)
    span = group * step * hop_s
    return tuple((round((i + 0.5) * span, 3), round(float(s / h), 1)) for i, (s, h) in enumerate(zip(sums, hits))
                 if h)


def _pitch(frames: np.ndarray, f0: np.ndarray, *, group: int, hop_s: float):
    """Voiced ``frames`` (sorted) as ``(frame start, Hz)``, or with ``group`` > 1 the median of the voiced frames
    in each ``group`` frames of the grid, at the group's middle."""
    voiced = np.isfinite(f0)
    frames, f0 = frames[voiced], f0[voiced]
    if group == 1:
        return tuple((round(float(f) * hop_s, 3), round(float(hz), 1)) for f, hz in zip(frames, f0))
    groups = frames // group
    firsts = np.flatnonzero(np.diff(groups, prepend=-1))
    return tuple((round((float(groups[a]) + 0.5) * group * hop_s, 3), round(float(np.median(part)), 1))
                 for a, part in zip(firsts, np.split(f0, firsts[1:])))


# ---------------------------------------------------------------- the file beside the recording


def read_derived(recording: Path) -> Derived | None:
    """The derived file of ``recording`` when it is there, of this format and of the recording as it is now;
    else None. Reads only the small file (and the recording's size and time)."""
    try:
        text = sidecar(recording).read_text(encoding="utf-8")
        source = _source(recording)
    except OSError:
        return None
    try:
        data = _parse(json.loads(text))
    except (ValueError, TypeError, KeyError, StoreFormatError):  # damaged or of another writer: computed again
        return None
    return data if data.source == source else None


def _parse(data: dict) -> Derived:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise StoreFormatError("not a derived file of this version")
    wave = data.get("waveform")
    waveform = None if wave is None else Waveform(int(wave["points"]), float(wave["duration_s"]),
                                                  tuple(tuple(float(v) for v in ch) for ch in wave["peaks"]))
    contours = tuple(Contour(str(c["key"]), float(c["duration_s"]),
                             tuple((float(t), float(v)) for t, v in c["loudness"]),
                             tuple((float(t), float(v)) for t, v in c["pitch"]), float(c["join_s"]))
                     for c in data.get("contours", ()))
    size, mtime = data["source"]
    return Derived((int(size), int(mtime)), waveform, contours)


def _dump(d: Derived) -> dict:
    w = d.waveform
    return {"version": VERSION, "source": list(d.source),
            "waveform": None if w is None else {"points": w.points, "duration_s": w.duration_s,
                                                "peaks": [list(ch) for ch in w.peaks]},
            "contours": [{"key": c.key, "duration_s": c.duration_s, "join_s": c.join_s,
                          "loudness": [list(p) for p in c.loudness], "pitch": [list(p) for p in c.pitch]}
                         for c in d.contours]}


def write_derived(recording: Path, derived: Derived) -> None:
    """Write the derived file of ``recording`` atomically (a temporary file beside it, renamed over it), with the
    recording's own permissions. Raises OSError; on failure nothing is left behind."""
    target = sidecar(recording)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, recording.stat().st_mode & 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_dump(derived), fh, separators=(",", ":"))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _merged(recording: Path, source: tuple[int, int], *, waveform: Waveform | None = None,
            contour: Contour | None = None) -> Derived:
    """What is on disk for this recording (if current) with ``waveform`` / ``contour`` put in."""
    now = read_derived(recording)
    now = now if now is not None and now.source == source else Derived(source)
    if waveform is not None:
        now = replace(now, waveform=waveform)
    if contour is not None:
        others = tuple(c for c in now.contours if c.key != contour.key)
        now = replace(now, contours=(contour, *others)[:_KEPT_CONTOURS])
    return now


def _save(recording: Path, derived: Derived) -> None:
    """Write, but only log a failure: the derived file is a cache of what the audio gives again."""
    try:
        write_derived(recording, derived)
    except OSError as exc:
        log.warning("could not write %s: %s", sidecar(recording), exc)


def stored_waveform(recording: Path, *, points: int = WAVEFORM_POINTS) -> Waveform:
    """The recording's :class:`Waveform` from its derived file; computed (block by block) and written there
    when missing or stale. Raises AudioFormatError when it has to be computed and the file is not audio."""
    found = read_derived(recording)
    if found is not None and found.waveform is not None and found.waveform.points == points:
        return found.waveform
    source = _source(recording)
    wave = waveform_peaks(recording, points=points)
    _save(recording, _merged(recording, source, waveform=wave))
    return wave


def stored_contour(recording: Path, spec: ContourSpec, *, settings: Settings) -> Contour:
    """The recording's :class:`Contour` of ``spec`` from its derived file; computed (block by block) and written
    there when missing or stale. Raises AudioFormatError / AudioDurationError when it has to be computed and
    cannot be."""
    found = read_derived(recording)
    hit = found.contour(spec, settings) if found is not None else None
    if hit is not None:
        return hit
    source = _source(recording)
    contour = compute_contour(recording, spec, settings=settings)
    _save(recording, _merged(recording, source, contour=contour))
    return contour


def store_derived(recording: Path, spec: ContourSpec, *, settings: Settings,
                  points: int = WAVEFORM_POINTS) -> Derived | None:
    """Compute and write the derived file of a recording just stored (its waveform and the contour of its
    analysis), unless a current one is already there. Never raises: the recording is stored whatever happens
    here, and the web computes what is missing on first view; a failure is logged and gives None."""
    try:
        source = _source(recording)
        found = read_derived(recording)
        if (found is not None and found.waveform is not None and found.waveform.points == points
                and found.contour(spec, settings) is not None):
            return found
        wave = found.waveform if found is not None and found.waveform is not None \
            and found.waveform.points == points else waveform_peaks(recording, points=points)
        contour = compute_contour(recording, spec, settings=settings)
        derived = _merged(recording, source, waveform=wave, contour=contour)
        write_derived(recording, derived)
        return derived
    except Exception as exc:  # noqa: BLE001 - a cache: no failure here may undo or fail the store it follows
        if isinstance(exc, VoiceRehearseError):  # not audio, or out of bounds: nothing to draw, the page says so
            log.info("no derived data for %s: %s", recording, exc)
        else:
            log.warning("no derived data for %s: %s", recording, exc, exc_info=not isinstance(exc, OSError))
        return None
