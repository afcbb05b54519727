"""Choosing a transcription engine and feeding it audio: files (streamed in blocks) or any iterable of blocks.

``engine="auto"`` uses Vosk when a model resolves (see :mod:`voicerehearse.transcribe.models`), else the rough
PocketSphinx fallback, whose transcripts carry a ``note`` saying so.

>>> choose_engine("pocketsphinx").engine
'pocketsphinx'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from voicerehearse.audio.io import check_bounds, open_file, shown
from voicerehearse.errors import (
    AudioDurationError, AudioFormatError, ConfigError, ModelNotFoundError, VoiceRehearseError,
)
from voicerehearse.settings import DEFAULTS, Settings
from voicerehearse.transcribe import models, sphinx_engine, vosk_engine
from voicerehearse.transcribe.names import engine_choices
from voicerehearse.types import Transcript

ENGINES = engine_choices()
SCHEMA = "voicerehearse.transcript/1"
CHUNK_FRAMES = 4000  # samples per chunk handed to the recogniser (0.25 s at 16 kHz)
FILE_BLOCK_FRAMES = 1 << 16  # frames read from a file at a time (files are never loaded whole)

PartialCallback = Callable[[Transcript], None]


@dataclass(frozen=True)
class EngineChoice:
    engine: str  # "vosk" or "pocketsphinx"
    model_path: Path | None  # the Vosk model folder; None for PocketSphinx
    model_source: str | None  # where the model was found: "argument", "environment", "settings" or a folder

    @property
    def sample_rate_hz(self) -> int:
        if self.engine == "vosk":
            return models.model_sample_rate(self.model_path)
        return sphinx_engine.SAMPLE_RATE_HZ


def no_model_message() -> str:
    return (
        "no Vosk model found; get one with `voicerehearse models fetch "
        f"{models.DEFAULT_MODEL}` or pass --model PATH (or set {models.MODEL_ENV}); "
        "`voicerehearse models path` shows where models are looked for"
    )


def choose_engine(engine: str = "auto", model: str | os.PathLike | None = None, *,
                  settings: Settings = DEFAULTS) -> EngineChoice:
    """Resolve ``engine`` ("auto", "vosk", "pocketsphinx") and the Vosk model, without loading anything.

    ``settings`` gives the ``vosk_model`` setting (the declared defaults when not passed). Raises ConfigError
    for an unknown engine, ModelNotFoundError when ``engine="vosk"`` finds no model, and ModelNotFoundError / ModelError when a model
    given explicitly is missing or broken.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "pocketsphinx":
        return EngineChoice("pocketsphinx", None, None)
    resolved = models.resolve_model(model, settings=settings)
    if resolved is not None:
        return EngineChoice("vosk", resolved.path, resolved.source)
    if engine == "vosk":
        raise ModelNotFoundError(no_model_message())
    return EngineChoice("pocketsphinx", None, None)


def preload(choice: EngineChoice) -> None:
    """Load the chosen engine's model now (Vosk: seconds; PocketSphinx: about 1 s of CPU holding the
    interpreter), so that it does not happen inside the first take and starve the audio callback."""
    if choice.engine == "vosk":
        vosk_engine.load_model(choice.model_path)
    else:
        sphinx_engine.preload()


def pcm16_chunks(
    blocks: Iterable[np.ndarray], *, sample_rate: int, target_rate: int, chunk_frames: int = CHUNK_FRAMES
) -> Iterator[bytes]:
    """Mono 16-bit little-endian PCM chunks at ``target_rate`` from audio blocks at ``sample_rate``.

    Blocks are shaped (frames,) or (frames, channels), as soundfile and sounddevice deliver them, float in
    [-1, 1] or int16; channels are averaged. Resampling streams through soxr, so blocks may have any length.

    >>> chunks = list(pcm16_chunks([np.zeros((44100, 2), np.float32)], sample_rate=44100, target_rate=16000))
    >>> sum(len(c) for c in chunks) // 2
    16000
    """
    if sample_rate <= 0 or target_rate <= 0:
        raise AudioFormatError(f"invalid sample rate {sample_rate} Hz")
    stream = None
    if sample_rate != target_rate:
        import soxr

        stream = soxr.ResampleStream(sample_rate, target_rate, 1, dtype="float32", quality="HQ")
    pending = bytearray()
    chunk_bytes = 2 * chunk_frames
    blocks = iter(blocks)
    while True:
        block = next(blocks, None)
        last = block is None
        y = _mono_float(block) if block is not None else np.zeros(0, np.float32)
        if stream is not None:
            y = stream.resample_chunk(y, last=last)
        pending += (np.clip(y * 32768.0, -32768, 32767)).astype("<i2").tobytes()
        while len(pending) >= chunk_bytes:
            yield bytes(pending[:chunk_bytes])
            del pending[:chunk_bytes]
        if last:
            break
    if pending:
        yield bytes(pending)


def _mono_float(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block)
    if block.ndim == 2:
        block = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
    elif block.ndim != 1:
        raise AudioFormatError(f"audio blocks must be (frames,) or (frames, channels), got shape {block.shape}")
    if block.dtype == np.int16:
        return block.astype(np.float32) / 32768.0
    if not np.issubdtype(block.dtype, np.floating):
        raise AudioFormatError(f"audio blocks must be float or int16, got {block.dtype}")
    block = block.astype(np.float32, copy=False)
    if not np.isfinite(block).all():
        raise AudioFormatError("the audio holds NaN or infinite samples")
    return block


def transcribe_blocks(
    blocks: Iterable[np.ndarray],
    *,
    sample_rate: int,
    engine: str | EngineChoice = "auto",
    model: str | os.PathLike | None = None,
    settings: Settings = DEFAULTS,
    on_partial: PartialCallback | None = None,
) -> Transcript:
    """Transcribe a stream of audio blocks (see :func:`pcm16_chunks`), e.g. from live capture.

    ``on_partial`` gets the transcript so far while the stream is read (for a live display).
    """
    choice = engine if isinstance(engine, EngineChoice) else choose_engine(engine, model, settings=settings)
    chunks = pcm16_chunks(blocks, sample_rate=sample_rate, target_rate=choice.sample_rate_hz)
    if choice.engine == "vosk":
        return vosk_engine.recognize(chunks, model_path=choice.model_path, on_partial=on_partial)
    return sphinx_engine.recognize(chunks, on_partial=on_partial)


def transcribe_file(
    path: str | os.PathLike,
    *,
    engine: str | EngineChoice = "auto",
    model: str | os.PathLike | None = None,
    settings: Settings = DEFAULTS,
    on_partial: PartialCallback | None = None,
    channel: int | None = None,
) -> Transcript:
    """Transcribe an audio file (any format libsndfile reads, any rate or channel count), streamed in blocks.

    ``engine`` is a name or an :class:`EngineChoice` from :func:`choose_engine` (resolve once, then reuse it for
    many files; ``model`` is then ignored). The length limit ``max_duration_s`` of ``settings`` (the declared
    defaults when not passed) is checked from the file's header before any decoding. ``channel`` transcribes that
    channel alone (0-based; e.g. one side of a two-channel call) instead of the average of all channels.
    Files that cannot seek (GSM 6.10 WAV, raw GSM) are read block by block too. Raises AudioFormatError for a
    missing or unreadable file, AudioDurationError outside the limits, plus the errors of :func:`choose_engine`.
    """
    choice = engine if isinstance(engine, EngineChoice) else choose_engine(engine, model, settings=settings)
    path = Path(path)
    if not path.is_file():
        raise AudioFormatError(f"{shown(path)}: {'a folder, not an audio file' if path.is_dir() else 'no such file'}")
    try:
        with open_file(path) as fh, sf.SoundFile(fh) as f:
            if f.samplerate <= 0 or (f.frames == 0 and f.seekable()):
                raise AudioFormatError(f"{path}: the file holds no audio")
            if f.frames > 0:  # rate, channels, length and decoded size from the header, before any decoding
                check_bounds(path, f.samplerate, f.channels, f.frames, settings)
            blocks = read_blocks(f, path, max_frames=int(settings.max_duration_s * f.samplerate))
            if channel is not None:
                if not 0 <= channel < f.channels:
                    raise AudioFormatError(f"{path}: needs channel {channel}, the file has {f.channels}")
                blocks = (b[:, channel] for b in blocks)
            return transcribe_blocks(blocks, sample_rate=f.samplerate, engine=choice, on_partial=on_partial)
    except (sf.SoundFileError, RuntimeError, ValueError) as exc:
        raise AudioFormatError(f"{shown(path)}: not a readable audio file ({_one_line(exc)})") from None
    except AudioFormatError as exc:
        if str(exc).startswith(shown(path)):
            raise
        raise AudioFormatError(f"{shown(path)}: {exc}") from None


def read_blocks(f: sf.SoundFile, path, *, max_frames: int, blocksize: int = FILE_BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Blocks (frames, channels) of float32 from an open file, by sequential reads: works on files that cannot
    seek (``SoundFile.blocks`` needs the length). A header that under-states the length is caught at
    ``max_frames`` (AudioDurationError)."""
    done = 0
    while True:
        try:
            block = f.read(blocksize, dtype="float32", always_2d=True)
        except (sf.SoundFileError, RuntimeError, ValueError) as exc:
            raise AudioFormatError(f"{path}: cannot decode the audio after {done / f.samplerate:.1f} s "
                                   f"({_one_line(exc)})") from None
        if not len(block):
            if done == 0:
                raise AudioFormatError(f"{path}: the file holds no audio")
            return
        done += len(block)
        if done > max_frames:
            raise AudioDurationError(f"{path}: the audio runs past max_duration_s="
                                     f"{max_frames / f.samplerate:g} s")
        yield block


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def transcript_record(file: str, transcript: Transcript | None = None, error: VoiceRehearseError | None = None) -> dict:
    """One ``voicerehearse.transcript/1`` object: ``schema``, ``file``, the transcript fields, ``error``.

    >>> transcript_record("a.wav", error=AudioFormatError("a.wav: no such file"))["error"]
    {'type': 'AudioFormatError', 'message': 'a.wav: no such file'}
    """
    empty = {"engine": None, "model": None, "note": None, "text": None, "words": []}
    return {
        "schema": SCHEMA,
        "file": file,
        **(transcript_dict(transcript) if transcript is not None else empty),
        "error": None if error is None else {"type": error.kind, "message": str(error)},
    }


def transcript_dict(transcript: Transcript) -> dict:
    """The JSON form of a transcript (the ``voicerehearse.transcript/1`` fields other than ``file``/``error``).

    >>> from voicerehearse.types import Word
    >>> transcript_dict(Transcript("vosk", "m", "hi", (Word("hi", 0.1, 0.3, 1.0),)))["words"]
    [{'word': 'hi', 'start': 0.1, 'end': 0.3, 'conf': 1.0}]
    """
    return {
        "engine": transcript.engine,
        "model": transcript.model,
        "note": transcript.note,
        "text": transcript.text,
        "words": [asdict(w) for w in transcript.words],
    }
