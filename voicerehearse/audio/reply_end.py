"""When a take stops: the reply-end rule over any iterable of blocks, written to a take as they arrive.

:func:`record_take` consumes **any iterable of blocks** (the device, a file, a test list), writes each block to
a :class:`~voicerehearse.audio.takes.TakeWriter` as it arrives and decides when the reply is over (trailing
silence, key, limits). Every time is a frame count.

>>> import numpy as np, tempfile, pathlib
>>> from voicerehearse.audio.takes import TakeWriter
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> blocks = [np.zeros(800, np.int16)] * 10 + [np.full(800, 8000, np.int16)] * 10 + [np.zeros(800, np.int16)] * 40
>>> writer = TakeWriter(folder / "take", sample_rate=16000)
>>> end = ReplyEnd(end_silence_s=1.0, hesitation_silence_s=1.5)  # 0.5 s of speech is a hesitant start: 1.5 s
>>> result = record_take(blocks, writer, sample_rate=16000, prompt_end_frame=0, end=end)
>>> result.reason, result.frames / 16000
('silence', 2.5)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from voicerehearse.audio.pcm import as_int16, level_dbfs
from voicerehearse.settings import SETTINGS
from voicerehearse.settings import Settings

_DEFAULT = {s.name: s.default for s in SETTINGS}


# words after which a sentence is not over: a pause that follows them is a hesitation, not the end of the reply
CONTINUATION_WORDS = frozenset({
    "um", "uh", "er", "erm", "hmm", "mm", "ah", "so", "and", "but", "because", "or", "the", "a", "an", "to", "if",
    "that", "which", "we", "i", "i'm", "i'll", "you", "your", "is", "can", "will", "just", "well", "like", "of",
})


@dataclass(frozen=True)
class ReplyEnd:
    """When a take stops. All durations are audio time (sample counts). Defaults: the capture settings.

    The end is adaptive: a pause of ``end_silence_s`` ends a reply that sounds finished; a reply that has barely
    started (less than ``short_speech_s`` of speech), whose last burst was a lone filler (shorter than
    ``filler_burst_s``) or whose last heard word leaves the sentence open (``CONTINUATION_WORDS``) gets
    ``hesitation_silence_s`` instead, so a hesitant agent is recorded whole.
    """

    end_silence_s: float = _DEFAULT["reply_end_silence_s"]  # the reply is over after this much silence following speech
    no_reply_s: float = _DEFAULT["no_reply_s"]  # no reply this long after the customer's line ends: stop the take
    max_reply_s: float = _DEFAULT["reply_max_s"]  # hard limit after the customer's line ends
    speech_level_dbfs: float = _DEFAULT["reply_speech_level_dbfs"]  # blocks louder than this count as speech for end detection only
    min_speech_s: float = _DEFAULT["reply_min_speech_s"]  # louder blocks must last this long to count as the reply starting
    bleed_tail_s: float = _DEFAULT["bleed_tail_s"]  # with speakers, speech this soon after the line ends may be its echo
    hesitation_silence_s: float = _DEFAULT["reply_hesitation_silence_s"]  # silence that ends a reply which sounds unfinished
    short_speech_s: float = _DEFAULT["reply_short_speech_s"]  # less speech than this so far: the reply is just starting
    filler_burst_s: float = _DEFAULT["reply_filler_burst_s"]  # a lone burst shorter than this before a pause is a filler
    burst_gap_s: float = _DEFAULT["reply_burst_gap_s"]  # silence that separates two bursts of speech
    wait_nudge_s: float = _DEFAULT["long_latency_s"]  # no reply this long after the line: the live display nudges

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> "ReplyEnd":
        values = dict(end_silence_s=settings.reply_end_silence_s, no_reply_s=settings.no_reply_s,
                      max_reply_s=settings.reply_max_s, speech_level_dbfs=settings.reply_speech_level_dbfs,
                      min_speech_s=settings.reply_min_speech_s, bleed_tail_s=settings.bleed_tail_s,
                      hesitation_silence_s=settings.reply_hesitation_silence_s,
                      short_speech_s=settings.reply_short_speech_s, filler_burst_s=settings.reply_filler_burst_s,
                      burst_gap_s=settings.reply_burst_gap_s, wait_nudge_s=settings.long_latency_s)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def silence_for(self, *, speech_s: float, last_burst_s: float, open_sentence: bool) -> float:
        """How much silence ends the reply now (seconds), given what has been heard.

        >>> end = ReplyEnd(end_silence_s=1.5, hesitation_silence_s=4.0, short_speech_s=2.0, filler_burst_s=0.8)
        >>> end.silence_for(speech_s=6.0, last_burst_s=3.0, open_sentence=False)
        1.5
        >>> end.silence_for(speech_s=0.7, last_burst_s=0.7, open_sentence=False)  # "Um, sorry." then a pause
        4.0
        >>> end.silence_for(speech_s=6.0, last_burst_s=3.0, open_sentence=True)  # "...and" then a pause
        4.0
        """
        hesitant = speech_s < self.short_speech_s or last_burst_s < self.filler_burst_s or open_sentence
        return max(self.end_silence_s, self.hesitation_silence_s) if hesitant else self.end_silence_s


def open_sentence(text: str | None) -> bool:
    """Does the (partial) transcript stop on a word that leaves the sentence open?

    >>> open_sentence("i'm sorry and"), open_sentence("it is waived today"), open_sentence(None)
    (True, False, False)
    """
    words = (text or "").lower().replace("\u2019", "'").split()
    return bool(words) and words[-1].strip(".,!?") in CONTINUATION_WORDS


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
    talking_over: bool = False  # the trainee speaks while the customer's line still plays (headset only)
    pause_s: float = 0.0  # silence since the trainee's last speech (0 while speaking or before the reply)
    ends_in_s: float | None = None  # seconds until this pause ends the reply (None: not counting down)
    hesitant: bool = False  # the countdown is the longer, hesitation one
    waiting_s: float = 0.0  # no reply yet this long after the customer finished

    @property
    def elapsed_s(self) -> float:
        return self.frame / self.sample_rate


@dataclass(frozen=True)
class TakeResult:
    frames: int
    sample_rate: int
    reason: str  # "silence" | "key" | "no reply" | "max" | "end of input"
    reply_heard: bool
    talk_over_s: float = 0.0  # live estimate: trainee speech while the customer's line played (headset only)

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
    sentence_open: Callable[[], bool] | None = None,
) -> TakeResult:
    """Write ``blocks`` to ``writer`` until the reply is over; return how much was recorded and why it stopped.

    ``stop`` (a key) ends the take; a press while the customer's line plays, before the trainee started, is dropped;
    ``sentence_open`` (from the live transcript) says the last word heard leaves the sentence open.
    Errors (DeviceError from the block source, TakeStorageError, KeyboardInterrupt) propagate; everything
    written before them is on disk — the caller finalises the writer.
    """
    sr = sample_rate
    min_speech = int(end.min_speech_s * sr)
    gap = int(end.burst_gap_s * sr)
    heard_from = prompt_end_frame + (0 if headset else int(end.bleed_tail_s * sr))
    frame = loud_run = reply_frames = talk_over = 0
    last_speech = last_loud = burst_start = -1
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
        customer = frame <= prompt_end_frame
        ours = headset or start >= heard_from
        if loud and ours:  # bursts of the trainee's sound, for the filler rule (syllable dips do not split them)
            if burst_start < 0 or start - last_loud >= gap:
                burst_start = start
            last_loud = frame
        if speaking:
            if ours:
                reply_heard = True
                reply_frames += block.shape[0]
                if customer and headset:
                    talk_over += block.shape[0]
            last_speech = frame
        pause = ends_in = None
        hesitant = False
        if reply_heard and not speaking and frame > prompt_end_frame:
            silent = frame - max(last_speech, prompt_end_frame)
            limit = end.silence_for(speech_s=reply_frames / sr, last_burst_s=(last_loud - burst_start) / sr,
                                    open_sentence=bool(sentence_open and sentence_open()))
            hesitant = limit > end.end_silence_s
            pause, ends_in = silent / sr, max(0.0, limit - silent / sr)
        waiting = (frame - prompt_end_frame) / sr if not reply_heard and frame > prompt_end_frame else 0.0
        if on_block is not None:
            on_block(block, TakeProgress(frame, sr, level, "customer" if customer else "reply", speaking,
                                         reply_heard, reply_frames, talking_over=customer and speaking and headset,
                                         pause_s=pause or 0.0, ends_in_s=ends_in, hesitant=hesitant,
                                         waiting_s=waiting))
        if stop is not None and stop.is_set():
            if frame < prompt_end_frame and not reply_heard:
                stop.clear()  # pressed while the customer speaks (e.g. a double press after the last reply): dropped
            else:
                reason = "key"
                break
        if frame < prompt_end_frame:
            continue
        if ends_in is not None and ends_in <= 0.0:
            reason = "silence"
            break
        if not reply_heard and frame - prompt_end_frame >= end.no_reply_s * sr:
            reason = "no reply"
            break
        if frame - prompt_end_frame >= end.max_reply_s * sr:
            reason = "max"
            break
    return TakeResult(frame, sr, reason, reply_heard, talk_over / sr)


def mix_in(blocks: Iterable[np.ndarray], samples: np.ndarray, at_frame: int = 0) -> Iterator[np.ndarray]:
    """Add ``samples`` (float, mono, same rate) to the blocks from frame ``at_frame`` on: a recorded reply
    'spoken into' the live microphone signal (``practice --replies``, ``--reply-at``).

    >>> [b.tolist() for b in mix_in([np.zeros(2, np.int16)] * 2, np.array([0.5, 0.5, 0.5], np.float32))]
    [[16384, 16384], [16384, 0]]
    >>> [b.tolist() for b in mix_in([np.zeros(2, np.int16)] * 2, np.array([0.5], np.float32), at_frame=3)]
    [[0, 0], [0, 16384]]
    """
    pos = -int(at_frame)
    add = np.round(np.asarray(samples, np.float32) * 32767.0)
    for block in blocks:
        block = as_int16(block)
        n = block.shape[0]
        skip = min(n, max(0, -pos))  # frames of this block before the reply starts
        part = add[max(pos, 0) : max(pos + n, 0)]
        pos += n
        if part.size:
            mixed = block.astype(np.float32)
            mixed[skip : skip + part.size] += part
            block = np.clip(mixed, -32768, 32767).astype(np.int16)
        yield block

