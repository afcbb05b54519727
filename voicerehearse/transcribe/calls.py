"""Transcripts of imported call recordings: each side of a two-channel call on its own, or one mono stream.

>>> call_record(CallTranscript((), MONO_NOTE))["note"].startswith("One stream")
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from voicerehearse.transcribe.engine import EngineChoice, transcribe_file, transcript_dict
from voicerehearse.types import Transcript
from voicerehearse.settings import Settings

MONO_NOTE = ("One stream: the recording has one channel (or its channels were mixed), so the agent's and the "
             "customer's words are not separated.")


@dataclass(frozen=True)
class CallSide:
    side: str  # "agent", "customer", or "mixed" for a mono stream
    channel: int | None  # the channel transcribed; None for the mix of all channels
    transcript: Transcript


@dataclass(frozen=True)
class CallTranscript:
    sides: tuple[CallSide, ...]
    note: str | None = None  # MONO_NOTE when the sides are not separated

    def side(self, name: str) -> Transcript | None:
        return next((s.transcript for s in self.sides if s.side == name), None)


def transcribe_call(path: str | os.PathLike, *, engine: EngineChoice, settings: Settings,
                    channels: dict[str, int] | None = None) -> CallTranscript:
    """Each side of the call transcribed from its own channel (``channels`` maps "agent"/"customer" to a channel),
    or, without ``channels``, the whole recording as one stream labelled with :data:`MONO_NOTE`.

    Raises what :func:`transcribe_file` raises (the length limit is checked before any decoding).
    """
    if not channels:
        return CallTranscript((CallSide("mixed", None, transcribe_file(path, engine=engine, settings=settings)),),
                              MONO_NOTE)
    return CallTranscript(tuple(
        CallSide(side, channel, transcribe_file(path, engine=engine, settings=settings, channel=channel))
        for side, channel in sorted(channels.items(), key=lambda item: item[1])))


def call_record(call: CallTranscript) -> dict:
    """The JSON form stored beside an import's analysis record (key ``call_transcript``)."""
    return {"note": call.note,
            "sides": [{"side": s.side, "channel": s.channel, **transcript_dict(s.transcript)} for s in call.sides]}
