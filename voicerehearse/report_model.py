"""The report of one practice session: per turn the typed :class:`~voicerehearse.types.Analysis` of its stored
record, parsed once here, and beside it only what the report adds (words and flags placed for display, comments,
events in people's words, the call card, an import's call transcript and redaction, a practice take).

The web pages and every writer read these objects; none reads the stored dicts.

>>> report = SessionReport(id=1, trainee="Dana", scenario_id="late_fee", scenario_title="Late fee",
...                        source="demo", started_at=None, turns=())
>>> turn_report(3, 0, None, "a.wav", None).analysis is None
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voicerehearse.errors import StoreFormatError, VoiceRehearseError
from voicerehearse.review import CallCard, Event, Moment, call_card, turn_events
from voicerehearse.schema import analysis_from_record, from_json
from voicerehearse.settings import DEFAULTS, Settings
from voicerehearse.types import Analysis, Flag, Transcript, Word

if TYPE_CHECKING:
    from voicerehearse.scorecard import Scorecard
    from voicerehearse.transcribe.calls import CallTranscript

REPORT_SCHEMA = "voicerehearse.report/1"
ROUGH_LABEL = "Rough transcript: expect wrong words."
ROUGH_TAG = "[rough]"  # prefix of every WebVTT cue of a rough transcript (players show cue text, not NOTEs)


class ReportError(VoiceRehearseError):
    """A report cannot be built or written (unknown session or format)."""


# ---------------------------------------------------------------- what the report adds


@dataclass(frozen=True)
class WordView(Word):
    """A word as shown: a transcript :class:`~voicerehearse.types.Word`, its times maybe estimated."""

    estimated: bool = False  # times spread over the speech segments (plain-text transcript)

    def low_confidence(self, threshold: float) -> bool:
        """Shown dimmed: the recogniser was less sure of this word than ``threshold`` (setting
        ``low_word_confidence_fraction``)."""
        return self.conf is not None and self.conf < threshold


@dataclass(frozen=True)
class PlacedFlag(Flag):
    """A :class:`~voicerehearse.types.Flag` as shown: a language cue found in untimed text is placed on the
    words' estimated times."""

    estimated: bool = False  # placed on estimated word times


@dataclass(frozen=True)
class CallLine:
    """One stretch of one side's words in an imported call's transcript (a new line at each pause)."""

    side: str  # "agent", "customer", or "mixed" (mono: sides not separated)
    start: float | None
    end: float | None
    words: tuple[WordView, ...]
    rough: bool  # from the rough fallback recogniser

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)


@dataclass(frozen=True)
class Redaction:
    """What an import masked: the record's ``redaction`` section (written by :mod:`voicerehearse.importing`)."""

    enabled: bool
    checked: bool = False  # there was a transcript to look for spoken numbers in
    numbers: int = 0  # spoken numbers masked
    audio: str = "silence"  # "beep" or "silence": what replaced them in the stored recording
    original_kept: bool = False  # the unmasked recording is kept for authorised access


@dataclass(frozen=True)
class CommentView:
    id: int
    turn_id: int
    start_s: float
    end_s: float | None
    text: str
    author: str | None
    updated_at: datetime | None
    replies: tuple[tuple[str | None, str], ...] = ()  # (author, text) in order

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "turn_id": self.turn_id, "start_s": self.start_s, "end_s": self.end_s,
                "text": self.text, "author": self.author,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "replies": [{"author": a, "text": t} for a, t in self.replies]}


@dataclass(frozen=True)
class TurnReport:
    """One turn: the typed analysis and what only the report has."""

    id: int
    index: int
    customer_text: str | None
    audio_path: str
    analysis: Analysis | None  # None: no analysis (``error`` says why, when the record did)
    error: str | None = None
    words: tuple[WordView, ...] = ()  # the transcript's words, with estimated times when it had none
    flags: tuple[PlacedFlag, ...] = ()  # the analysis' flags, language cues placed on estimated word times
    comments: tuple[CommentView, ...] = ()
    events: tuple[Event, ...] = ()  # every flag and reason once, in people's words
    card: CallCard | None = None  # the call card of an imported call
    call: tuple[CallLine, ...] = ()  # an imported call's two-party (or one-stream) transcript
    call_note: str | None = None  # e.g. "the sides are not separated" for a mono call
    redaction: Redaction | None = None  # an import's masking of spoken numbers
    take: int | None = None  # the take of a retried practice turn (2, 3...); None for a first take
    coach_label: str | None = None  # the coach's own call of the delivery (a style), and whose it is
    coach_label_by: str | None = None
    record: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # as stored: the JSON export

    @property
    def timed_events(self) -> tuple[Event, ...]:
        """Events at a moment of the recording: drawn on the waveform lanes."""
        return tuple(e for e in self.events if e.start is not None and not e.whole_reply)

    @property
    def reply_events(self) -> tuple[Event, ...]:
        """Cues of the whole reply (loudness, pitch, pace...): shown as badges, not as bands."""
        return tuple(e for e in self.events if e.start is None or e.whole_reply)

    @property
    def judged_against(self) -> str | None:
        """What the voice was compared with, in people's words (never a file name)."""
        if self.analysis is None:
            return None
        if self.analysis.tone.baseline == "absolute defaults":
            return "a typical level (no calibration read)"
        return "the trainee's calibration read"

    @property
    def call_rough(self) -> bool:
        return any(line.rough for line in self.call)

    @property
    def transcript_rough(self) -> bool:
        """The words come from the rough fallback recogniser (or carry its label): every view must say so."""
        t = self.analysis.transcript if self.analysis is not None else None
        return t is not None and (t.rough or bool(t.note))

    @property
    def transcript_label(self) -> str | None:
        """The label shown beside rough words, e.g. the fallback's own note; None for a trusted transcript."""
        if not self.transcript_rough or not self.words:
            return None
        return self.analysis.transcript.note or ROUGH_LABEL

    @property
    def transcript_source(self) -> str | None:
        """Which recogniser and model gave the words, e.g. ``"vosk (vosk-model-small-en-us-0.15)"``."""
        t = self.analysis.transcript if self.analysis is not None else None
        if t is None:
            return None
        name = {"file": "transcript file"}.get(t.engine, t.engine)
        return f"{name} ({t.model})" if t.model else name

    @property
    def words_estimated(self) -> bool:
        return any(w.estimated for w in self.words)


@dataclass(frozen=True)
class SessionReport:
    id: int
    trainee: str
    scenario_id: str
    scenario_title: str
    source: str
    started_at: datetime | None
    turns: tuple[TurnReport, ...]
    status: str = "complete"
    note: str | None = None
    moments: tuple[Moment, ...] = ()  # the top moments of the session
    card: CallCard | None = None  # the call (or rehearsal) card
    scorecard: Scorecard | None = None  # with the latest coach's answers
    review_status: str = "new"  # store.REVIEW_STATUSES
    review_reason: str | None = None  # the agent's reason for a dispute


# ---------------------------------------------------------------- parsing the stored record, once


def estimate_word_times(words: list[str], segments: list[tuple[float, float]]) -> tuple[WordView, ...]:
    """Spread untimed words over the speech segments in proportion to their length (a display aid only).

    >>> [(w.word, w.start, w.end) for w in estimate_word_times(["ab", "ab"], [(1.0, 2.0)])]
    [('ab', 1.0, 1.5), ('ab', 1.5, 2.0)]
    """
    total = sum(e - s for s, e in segments)
    if not words or total <= 0:
        return tuple(WordView(w, None, None, estimated=True) for w in words)
    weights = [max(len(w.strip(".,;:!?\"'")), 1) for w in words]
    scale = total / sum(weights)
    out, seg, pos = [], 0, segments[0][0]
    for word, weight in zip(words, weights):
        need = weight * scale
        start = pos
        while seg < len(segments) and pos + need > segments[seg][1] + 1e-9:
            need -= segments[seg][1] - pos
            seg += 1
            if seg < len(segments):
                pos = segments[seg][0]
                if start >= segments[seg - 1][1] - 1e-9:
                    start = pos
        if seg >= len(segments):
            pos = segments[-1][1]
        else:
            pos += need
        out.append(WordView(word, round(start, 3), round(pos, 3), estimated=True))
    return tuple(out)


def _norm(token: str) -> str:
    return token.lower().strip(".,;:!?\"()[]\u201c\u201d\u2018").replace("\u2019", "'")


def place_phrase(phrase: str, words: tuple[Word, ...]) -> tuple[float, float] | None:
    """Where the first occurrence of ``phrase`` lies in timed ``words`` (for cues found in untimed text).

    >>> ws = (WordView("Calm", 1.0, 1.2), WordView("down.", 1.2, 1.5), WordView("Fine", 2.0, 2.3))
    >>> place_phrase("calm down", ws)
    (1.0, 1.5)
    """
    target = [_norm(t) for t in phrase.split()]
    tokens = [_norm(w.word) for w in words]
    for i in range(len(tokens) - len(target) + 1):
        if tokens[i:i + len(target)] == target and words[i].start is not None:
            return words[i].start, words[i + len(target) - 1].end
    return None


def _placed(flag: Flag, words: tuple[WordView, ...]) -> PlacedFlag:
    span = None
    if flag.start is None and flag.message.startswith("\u201c") and "\u201d" in flag.message:
        span = place_phrase(flag.message[1:flag.message.index("\u201d")], words)
    if span is None:
        return PlacedFlag(flag.kind, flag.severity, flag.start, flag.end, flag.message)
    return PlacedFlag(flag.kind, flag.severity, span[0], span[1], flag.message, estimated=True)


def display_words(analysis: Analysis) -> tuple[WordView, ...]:
    """The transcript's words with their times, or times estimated over the speech segments when it had none."""
    t = analysis.transcript
    if t is None:
        return ()
    if t.timed:
        return tuple(WordView(w.word, w.start, w.end, w.conf) for w in t.words)
    return estimate_word_times([w.word for w in t.words], [(s.start, s.end) for s in analysis.speech.segments])


def call_lines(call: CallTranscript | None, gap_s: float = 0.8) -> tuple[CallLine, ...]:
    """An import's call transcript (see voicerehearse.transcribe.calls) as time-ordered lines of each side.

    >>> from voicerehearse.transcribe.calls import CallSide, CallTranscript
    >>> from voicerehearse.types import Transcript
    >>> call = CallTranscript((CallSide("agent", 1, Transcript("vosk", None, "hi", (Word("hi", 1.0, 1.2),))),
    ...                        CallSide("customer", 0, Transcript("vosk", None, "hello", (Word("hello", 0.2, 0.6),)))))
    >>> [line.side for line in call_lines(call)]
    ['customer', 'agent']
    """
    lines: list[CallLine] = []
    for side in call.sides if call is not None else ():
        rough = side.transcript.rough or bool(side.transcript.note)
        group: list[WordView] = []
        for w in side.transcript.words:
            view = WordView(w.word, w.start, w.end, w.conf)
            if group and view.start is not None and group[-1].end is not None and view.start - group[-1].end > gap_s:
                lines.append(CallLine(side.side, group[0].start, group[-1].end, tuple(group), rough))
                group = []
            group.append(view)
        if group:
            lines.append(CallLine(side.side, group[0].start, group[-1].end, tuple(group), rough))
    return tuple(sorted(lines, key=lambda line: (line.start is None, line.start or 0.0)))


def analysis_of(record: dict | None) -> tuple[Analysis | None, str | None]:
    """The typed analysis of a stored record, or None and why (an error record's own message)."""
    if not record:
        return None, None  # a turn whose take was never analysed
    error = record.get("error")
    if error:
        return None, str(error.get("message") if isinstance(error, dict) else error)
    try:
        return analysis_from_record(record), None
    except StoreFormatError as exc:
        return None, str(exc)


def _section(kind, value):
    """A section the store adds beside the analysis, typed; None when absent or not readable (the analysis
    is shown without it)."""
    if value is None:
        return None
    try:
        return from_json(kind, value)
    except (TypeError, ValueError, KeyError):
        return None


def _call_transcript(value) -> CallTranscript | None:
    """An import's ``call_transcript`` (:func:`voicerehearse.transcribe.calls.call_record`: each side's name and
    channel beside its transcript's fields) as the typed CallTranscript; None when absent or not readable."""
    from voicerehearse.transcribe.calls import CallSide, CallTranscript

    if not isinstance(value, dict):
        return None
    try:
        sides = tuple(CallSide(str(s["side"]), s.get("channel"), from_json(Transcript, s))
                      for s in value.get("sides") or ())
    except (TypeError, ValueError, KeyError):
        return None
    return CallTranscript(sides, value.get("note"))


def turn_report(turn_id: int, index: int, customer_text: str | None, audio_path: str, record: dict | None,
                comments: tuple[CommentView, ...] = (), *, settings: Settings = DEFAULTS,
                coach_label: str | None = None, coach_label_by: str | None = None) -> TurnReport:
    """Parse one stored record once: the analysis (schema voicerehearse.analysis/1) into the typed Analysis, and
    the sections the store keeps beside it (an import's ``call_transcript`` and ``redaction``, the practice
    take). ``settings``: the call card's thresholds; ``coach_label(_by)``: the coach's call, stored beside it."""
    record = record or {}
    analysis, error = analysis_of(record)
    call = _call_transcript(record.get("call_transcript"))
    take = (record.get("practice") or {}).get("take")
    words = display_words(analysis) if analysis is not None else ()
    card = None
    if analysis is not None and (call is not None or analysis.stereo is not None):
        card = call_card(analysis, settings)
    return TurnReport(
        id=turn_id, index=index, customer_text=customer_text, audio_path=audio_path, analysis=analysis,
        error=error, words=words, flags=tuple(_placed(f, words) for f in analysis.flags) if analysis else (),
        comments=comments, events=turn_events(analysis) if analysis is not None else (), card=card,
        call=call_lines(call), call_note=call.note if call is not None else None,
        redaction=_section(Redaction, record.get("redaction")),
        take=take if isinstance(take, int) and take > 1 else None, coach_label=coach_label,
        coach_label_by=coach_label_by, record=record,
    )

