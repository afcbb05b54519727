"""What a session runs with: :class:`RehearsalOptions` (devices, rates, when a reply ends, the recogniser,
scripted replies) and :class:`ReplyAt`, where a scripted reply starts in its take. The CLI builds them once
from its flags and the settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from voicerehearse.audio.reply_end import ReplyEnd
from voicerehearse.settings import describe


@dataclass(frozen=True)
class ReplyAt:
    """Where a recorded reply (``--replies``) starts in its take: ``start`` (frame 0, the default: the reply file
    holds its own lead-in, so it is heard over the customer's line unless it starts with enough silence) or
    ``prompt-end`` (when the customer's line ends), plus ``offset_s`` (may be negative: a barge-in on purpose)."""

    anchor: str = "start"  # "start" | "prompt-end"
    offset_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> "ReplyAt":
        """``start``, ``start+1.5``, ``prompt-end``, ``prompt-end+0.3``, ``prompt-end-0.5``.

        >>> ReplyAt.parse("prompt-end+0.3"), ReplyAt.parse("start")
        (ReplyAt(anchor='prompt-end', offset_s=0.3), ReplyAt(anchor='start', offset_s=0.0))
        """
        m = re.fullmatch(r"\s*(start|prompt-end)\s*(?:([+-])\s*(\d+(?:\.\d*)?|\.\d+))?\s*", text or "")
        if m is None:
            raise ValueError(f"{text!r} is not start[+S] or prompt-end[+S|-S] (e.g. prompt-end+0.3)")
        offset = float(m.group(3) or 0.0) * (-1 if m.group(2) == "-" else 1)
        if m.group(1) == "start" and offset < 0:
            raise ValueError(f"{text!r}: a reply cannot start before the take does")
        return cls(m.group(1), offset)

    def frame(self, sample_rate: int, prompt_end_frame: int) -> int:
        base = prompt_end_frame if self.anchor == "prompt-end" else 0
        return max(0, base + int(round(self.offset_s * sample_rate)))


@dataclass(frozen=True)
class RehearsalOptions:
    sample_rate_hz: int = 16000  # capture and playback rate of the duplex stream
    blocksize: int = 800  # frames per PortAudio block (50 ms at 16 kHz)
    input_device: str | int | None = None  # PortAudio index or name substring; None = system default
    output_device: str | int | None = None
    headset: bool = True  # False: speakers, so the mic hears the customer (bleed is rejected by the analysis)
    lead_in_s: float = describe("prompt_lead_in_s").default  # recorded silence before the customer's line starts in each take
    reply_end: ReplyEnd = ReplyEnd()  # when a reply is over
    speak: bool = True  # espeak-ng for lines without a recording (else a cue tone)
    engine: str = "none"  # "none"; "auto": Vosk when a model resolves, else the labelled PocketSphinx fallback; "vosk"
    model: str | None = None  # Vosk model folder
    replies: Path | None = None  # non-interactive: recorded replies mixed into the mic signal, one per turn
    reply_at: ReplyAt = ReplyAt()  # where each recorded reply starts in its take
    max_turns: int = 12  # a branching call ends after this many customer lines
