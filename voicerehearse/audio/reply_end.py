"""When a take stops: the reply-end rule over any iterable of blocks, written to a take as they arrive.

:func:`record_take` consumes **any iterable of blocks** (the device, a file, a test list), writes each block to
a :class:`~voicerehearse.audio.takes.TakeWriter` as it arrives and decides when the reply is over (trailing
silence, key, limits). Every time is a frame count.

>>> import numpy as np, tempfile, pathlib
>>> from voicerehearse.audio.takes import TakeWriter
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> blocks = [np.zeros(800, np.int16)] * 10 + [np.full(800, 8000, np.int16)] * 10 + [np.zeros(800, np.int16)] * 40
>>> writer = TakeWriter(folder / "take", sample_rate=16000)
>>> result = record_take(blocks, writer, sample_rate=16000, prompt_end_frame=0, end=ReplyEnd(end_silence_s=1.0))
>>> result.reason, result.frames / 16000
('silence', 2.0)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from voicerehearse.audio.pcm import as_int16, level_dbfs
from voicerehearse.settings import SETTINGS

_DEFAULT = {s.name: s.default for s in SETTINGS}


@dataclass(frozen=True)
class ReplyEnd:
    """When a take stops. All durations are audio time (sample counts). Defaults: the capture settings."""

    end_silence_s: float = _DEFAULT["reply_end_silence_s"]  # the reply is over after this much silence following speech
    no_reply_s: float = _DEFAULT["no_reply_s"]  # no reply this long after the customer's line ends: stop the take
    max_reply_s: float = _DEFAULT["reply_max_s"]  # hard limit after the customer's line ends
    speech_level_dbfs: float = _DEFAULT["reply_speech_level_dbfs"]  # blocks louder than this count as speech for end detection only
    min_speech_s: float = _DEFAULT["reply_min_speech_s"]  # louder blocks must last this long to count as the reply starting
    bleed_tail_s: float = _DEFAULT["bleed_tail_s"]  # with speakers, speech this soon after the line ends may be its echo

    @classmethod
    def from_settings(cls, settings, **overrides) -> "ReplyEnd":
        values = dict(end_silence_s=settings.reply_end_silence_s, no_reply_s=settings.no_reply_s,
                      max_reply_s=settings.reply_max_s, speech_level_dbfs=settings.reply_speech_level_dbfs,
                      min_speech_s=settings.reply_min_speech_s, bleed_tail_s=settings.bleed_tail_s)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class TakeProgress:
    """Handed to ``on_block`` after every block (for a live display)."""

    frame: int  # frames recorded so far
    sample_rate: int
    level_dbfs: float  # this block's level
    phase: str  # "customer" while the line plays, then "reply"
    speaking: bool  # the end detector currently hears speech
    reply_heard: bool
    reply_frames: int  # frames of speech heard so far

    @property
    def elapsed_s(self) -> float:
        return self.frame / self.sample_rate


@dataclass(frozen=True)
class TakeResult:
    frames: int
    sample_rate: int
    reason: str  # "silence" | "key" | "no reply" | "max" | "end of input"
    reply_heard: bool

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def record_take(
    blocks: Iterable[np.ndarray],
    writer: "TakeWriter",
    *,
    sample_rate: int,
    prompt_end_frame: int,
    end: ReplyEnd = ReplyEnd(),
    headset: bool = True,
    stop: threading.Event | None = None,
    on_block: Callable[[np.ndarray, TakeProgress], None] | None = None,
) -> TakeResult:
    """Write ``blocks`` to ``writer`` until the reply is over; return how much was recorded and why it stopped.

    Errors (DeviceError from the block source, TakeStorageError, KeyboardInterrupt) propagate; everything
    written before them is on disk — the caller finalises the writer.
    """
    sr = sample_rate
    min_speech = int(end.min_speech_s * sr)
    heard_from = prompt_end_frame + (0 if headset else int(end.bleed_tail_s * sr))
    frame = loud_run = reply_frames = 0
    last_speech = -1
    reply_heard = False
    reason = "end of input"
    for block in blocks:
        block = as_int16(block)
        writer.write(block)
        start, frame = frame, frame + block.shape[0]
        level = level_dbfs(block)
        loud = level >= end.speech_level_dbfs
        loud_run = loud_run + block.shape[0] if loud else 0
        speaking = loud_run >= min_speech
        if speaking:
            last_speech = frame
            if headset or start >= heard_from:
                reply_heard = True
                reply_frames += block.shape[0]
        if on_block is not None:
            on_block(block, TakeProgress(frame, sr, level, "customer" if frame <= prompt_end_frame else "reply",
                                         speaking, reply_heard, reply_frames))
        if stop is not None and stop.is_set():
            reason = "key"
            break
        if frame < prompt_end_frame:
            continue
        if reply_heard and frame - max(last_speech, prompt_end_frame) >= end.end_silence_s * sr:
            reason = "silence"
            break
        if not reply_heard and frame - prompt_end_frame >= end.no_reply_s * sr:
            reason = "no reply"
            break
        if frame - prompt_end_frame >= end.max_reply_s * sr:
            reason = "max"
            break
    return TakeResult(frame, sr, reason, reply_heard)


def mix_in(blocks: Iterable[np.ndarray], samples: np.ndarray) -> Iterator[np.ndarray]:
    """Add ``samples`` (float, mono, same rate) to the blocks from their first frame on: a recorded reply
    'spoken into' the live microphone signal (``practice --replies``).

    >>> [b.tolist() for b in mix_in([np.zeros(2, np.int16)] * 2, np.array([0.5, 0.5, 0.5], np.float32))]
    [[16384, 16384], [16384, 0]]
    """
    pos = 0
    add = np.round(np.asarray(samples, np.float32) * 32767.0)
    for block in blocks:
        block = as_int16(block)
        n = block.shape[0]
        part = add[pos : pos + n]
        pos += n
        if part.size:
            mixed = block.astype(np.float32)
            mixed[: part.size] += part
            block = np.clip(mixed, -32768, 32767).astype(np.int16)
        yield block

