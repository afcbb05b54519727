"""Where a session's sound and words come from: the duplex stream (the mic as blocks, the customer's line
playing on the same stream, a recorded reply mixed in for ``--replies``), playback of a stored take, and the
live recogniser (:func:`resolve_engine`, :func:`start_recognition`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voicerehearse.audio.devices import DuplexCapture
from voicerehearse.audio.io import load_audio
from voicerehearse.audio.playback import PromptSource
from voicerehearse.audio.reply_end import mix_in
from voicerehearse.live import RecognitionWorker
from voicerehearse.rehearsal.options import RehearsalOptions
from voicerehearse.settings import Settings

if TYPE_CHECKING:  # the engine module is imported when recognition is asked for
    from voicerehearse.transcribe.engine import EngineChoice


REPLY_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def reply_file(replies: Path, name: str, take: int = 1) -> Path | None:
    """``DIR/<name>.wav`` (or .flac/.ogg/.mp3); turn names are ``turn-1`` / ``1`` (zero padding allowed).
    A retry's reply is ``turn-1-take-2.wav``: when it exists, a scripted session retries the turn with it."""
    candidates = [name] if take == 1 else []
    m = re.fullmatch(r"turn-(\d+)", name)
    if m:
        n = int(m.group(1))
        stems = [f"turn-{n}", f"turn-{n:02d}", f"turn{n}", f"{n}", f"{n:02d}"]
        candidates += stems[1:] if take == 1 else [f"{stem}-take-{take}" for stem in stems]
    for stem in candidates:
        for ext in REPLY_EXTENSIONS:
            if (replies / f"{stem}{ext}").is_file():
                return replies / f"{stem}{ext}"
    return None


@dataclass
class InputFeed:
    blocks: Iterator[np.ndarray]  # mic blocks, (frames,) int16
    device: DuplexCapture | None  # the stream behind them (None for a file or a test source)

    @property
    def output_delay_s(self) -> float:
        return (self.device.output_delay_s or 0.0) if self.device is not None else 0.0

    @property
    def problems(self) -> list[str]:
        return list(self.device.statuses) if self.device is not None else []

    def captured_at(self, frame: int) -> float | None:
        """When the block holding frame ``frame - 1`` was captured (time.monotonic); None without a device."""
        return self.device.captured_at(frame) if self.device is not None else None


def _at_rate(path: Path, sample_rate_hz: int):
    """A recording's mono samples at the device's rate (loaded at the analysis rate, resampled if they differ)."""
    audio = load_audio(path)
    if audio.sample_rate == sample_rate_hz:
        return audio.samples
    from voicerehearse.audio.io import resample

    return resample(audio.samples, orig_sr=audio.sample_rate, target_sr=sample_rate_hz)


@contextmanager
def open_blocks(options: RehearsalOptions, prompt: PromptSource | None, reply: Path | None) -> Iterator[InputFeed]:
    """The mic as blocks, with the prompt playing on the same stream; ``reply`` (a recording) is mixed in from
    ``options.reply_at``."""
    with DuplexCapture(sample_rate=options.sample_rate_hz, input_device=options.input_device,
                       output_device=options.output_device, prompt=prompt, output=prompt is not None,
                       blocksize=options.blocksize) as capture:
        blocks = capture.blocks()
        if reply is not None:
            samples = _at_rate(reply, options.sample_rate_hz)
            at = options.reply_at.frame(options.sample_rate_hz, prompt.end_frame if prompt is not None else 0)
            blocks = mix_in(blocks, samples, at)
        yield InputFeed(blocks, capture)


def play_back(wav: Path, options: RehearsalOptions) -> None:
    """Play a stored take on the output device (the same duplex stream as the prompts; the mic is ignored)."""
    samples = _at_rate(wav, options.sample_rate_hz)
    source = PromptSource(samples, 0)
    with DuplexCapture(sample_rate=options.sample_rate_hz, input_device=options.input_device,
                       output_device=options.output_device, prompt=source, blocksize=options.blocksize) as capture:
        frames = 0
        for block in capture.blocks():
            frames += block.shape[0]
            if frames >= source.end_frame + options.blocksize:
                break


def resolve_engine(options: RehearsalOptions, settings: Settings, *, load: bool = True) -> EngineChoice | None:
    """The recogniser for live transcription, or None when recognition is off (acoustic only).

    "auto" without a Vosk model gives the PocketSphinx fallback, whose transcripts say they are rough.
    ``load``: load it in this process now, before the first take rather than during it (a session loads it in
    its recognition process instead: :func:`start_recognition`).
    """
    if options.engine == "none":
        return None
    from voicerehearse.transcribe.engine import choose_engine

    choice = choose_engine(options.engine, options.model, settings=settings)
    if load:
        from voicerehearse.transcribe.engine import preload

        preload(choice)  # Vosk or PocketSphinx: once per process
    return choice


def start_recognition(choice: EngineChoice | None, options: RehearsalOptions) -> RecognitionWorker | None:
    """The session's recognition process, its engine loaded (None when recognition is off)."""
    if choice is None:
        return None
    worker = RecognitionWorker(choice, level_dbfs_min=options.reply_end.speech_level_dbfs,
                               end_silence_s=options.reply_end.end_silence_s)
    try:
        worker.wait_ready()
    except BaseException:
        worker.close()
        raise
    return worker
