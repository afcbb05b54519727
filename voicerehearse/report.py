"""One report object per practice session, and a registry of writers over it: ``json``, ``vtt``, ``html``, ``pdf``.

The analysis records (schema ``voicerehearse.analysis/1``) are parsed once here into frozen view
dataclasses; the web pages and every writer read those, never the raw dicts.

>>> report = SessionReport(id=1, trainee="Dana", scenario_id="late_fee", scenario_title="Late fee",
...                        source="demo", started_at=None, turns=())
>>> sorted(WRITERS)
['html', 'json', 'pdf', 'vtt']
>>> render(report, "vtt").splitlines()[0]
'WEBVTT'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from voicerehearse.errors import VoiceRehearseError
from voicerehearse.transcribe.names import ROUGH as ROUGH_ENGINES  # words labelled wherever shown
from voicerehearse.types import Reason

REPORT_SCHEMA = "voicerehearse.report/1"
ROUGH_LABEL = "Rough transcript: expect wrong words."
ROUGH_TAG = "[rough]"  # prefix of every WebVTT cue of a rough transcript (players show cue text, not NOTEs)
STYLES = ("aggressive", "passive", "assertive")


class ReportError(VoiceRehearseError):
    """A report cannot be built or written (unknown session or format)."""


# ---------------------------------------------------------------- view objects


@dataclass(frozen=True)
class WordView:
    word: str
    start: float | None
    end: float | None
    estimated: bool = False  # times spread over the speech segments (plain-text transcript)
    conf: float | None = None  # the recogniser's confidence, 0-1; None when it gave none

    def low_confidence(self, threshold: float) -> bool:
        """Shown dimmed: the recogniser was less sure of this word than ``threshold`` (setting
        ``low_word_confidence_fraction``)."""
        return self.conf is not None and self.conf < threshold


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


def call_lines(call: dict | None, gap_s: float = 0.8) -> tuple[CallLine, ...]:
    """The stored ``call_transcript`` (see voicerehearse.transcribe.calls) as time-ordered lines of each side.

    >>> call_lines({"sides": [{"side": "agent", "engine": "vosk", "words": [{"word": "hi", "start": 1.0, "end": 1.2}]},
    ...   {"side": "customer", "engine": "vosk", "words": [{"word": "hello", "start": 0.2, "end": 0.6}]}]})[0].side
    'customer'
    """
    lines: list[CallLine] = []
    for side in (call or {}).get("sides") or ():
        rough = side.get("engine") in ROUGH_ENGINES or bool(side.get("note"))
        group: list[WordView] = []
        for w in side.get("words") or ():
            view = WordView(str(w.get("word", "")), _f(w.get("start")), _f(w.get("end")), conf=_f(w.get("conf")))
            if group and view.start is not None and group[-1].end is not None and view.start - group[-1].end > gap_s:
                lines.append(CallLine(str(side.get("side")), group[0].start, group[-1].end, tuple(group), rough))
                group = []
            group.append(view)
        if group:
            lines.append(CallLine(str(side.get("side")), group[0].start, group[-1].end, tuple(group), rough))
    return tuple(sorted(lines, key=lambda line: (line.start is None, line.start or 0.0)))


@dataclass(frozen=True)
class FlagView:
    kind: str
    severity: str  # info | warning | problem
    start: float | None
    end: float | None
    message: str
    estimated: bool = False  # a language cue placed on the words' estimated times


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
    id: int
    index: int
    customer_text: str | None
    audio_path: str
    duration_s: float | None
    label: str | None
    scores: dict[str, float]
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...]
    flags: tuple[FlagView, ...]
    words: tuple[WordView, ...]
    transcript_note: str | None
    segments: tuple[tuple[float, float], ...]
    words_per_minute: float | None
    syllables_per_second: float | None
    articulation_rate: float | None
    pauses: int | None
    longest_pause_s: float | None
    loudness_db: float | None
    loudness_delta_db: float | None
    pitch_median_hz: float | None
    pitch_delta_st: float | None
    pitch_sd_st: float | None
    alpha_ratio_delta_db: float | None
    baseline_name: str | None
    prompt_start_s: float | None
    prompt_end_s: float | None
    reply_start_s: float | None
    response_latency_s: float | None
    interrupted: bool | None
    interruptions: tuple[tuple[float, float], ...]
    talk_overs: int | None
    error: str | None
    record: dict[str, Any] = field(repr=False, compare=False)  # the analysis record as stored (for JSON export)
    comments: tuple[CommentView, ...] = ()
    transcript_engine: str | None = None  # "vosk", "pocketsphinx", "file"; None without a transcript
    transcript_model: str | None = None
    call: tuple[CallLine, ...] = ()  # an imported call's two-party (or one-stream) transcript
    call_note: str | None = None  # e.g. "the sides are not separated" for a mono call
    events: tuple = ()  # voicerehearse.review.Event: every flag and reason once, in people's words
    take: int | None = None  # the take of a retried practice turn (2, 3...); None or 1 for a first take
    analysis: Any = field(default=None, repr=False, compare=False)  # the typed Analysis, None for an error record
    card: Any = None  # voicerehearse.review.CallCard of an imported call

    @property
    def timed_events(self) -> tuple:
        """Events at a moment of the recording: drawn on the waveform lanes."""
        return tuple(e for e in self.events if e.start is not None and not e.whole_reply)

    @property
    def reply_events(self) -> tuple:
        """Cues of the whole reply (loudness, pitch, pace...): shown as badges, not as bands."""
        return tuple(e for e in self.events if e.start is None or e.whole_reply)

    @property
    def judged_against(self) -> str | None:
        """What the voice was compared with, in people's words (never a file name)."""
        if self.baseline_name is None:
            return None
        if self.baseline_name == "absolute defaults":
            return "a typical level (no calibration read)"
        return "the trainee's calibration read"

    @property
    def call_rough(self) -> bool:
        return any(line.rough for line in self.call)

    @property
    def transcript_rough(self) -> bool:
        """The words come from the rough fallback recogniser (or carry its label): every view must say so."""
        return self.transcript_engine in ROUGH_ENGINES or bool(self.transcript_note)

    @property
    def transcript_label(self) -> str | None:
        """The label shown beside rough words, e.g. the fallback's own note; None for a trusted transcript."""
        if not self.transcript_rough or not self.words:
            return None
        return self.transcript_note or ROUGH_LABEL

    @property
    def transcript_source(self) -> str | None:
        """Which recogniser and model gave the words, e.g. ``"vosk (vosk-model-small-en-us-0.15)"``."""
        if self.transcript_engine is None:
            return None
        names = {"file": "transcript file"}
        name = names.get(self.transcript_engine, self.transcript_engine)
        return f"{name} ({self.transcript_model})" if self.transcript_model else name

    @property
    def words_estimated(self) -> bool:
        return any(w.estimated for w in self.words)

    @property
    def timed_flags(self) -> tuple[FlagView, ...]:
        return tuple(f for f in self.flags if f.start is not None)


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
    moments: tuple = ()  # voicerehearse.review.Moment: the top moments of the session
    card: Any = None  # voicerehearse.review.CallCard: the call (or rehearsal) card
    scorecard: Any = None  # voicerehearse.scorecard.Scorecard with the latest coach's answers
    review_status: str = "new"  # store.REVIEW_STATUSES
    review_reason: str | None = None  # the agent's reason for a dispute

    @property
    def labels(self) -> tuple[str | None, ...]:
        return tuple(t.label for t in self.turns)


# ---------------------------------------------------------------- parsing


def _f(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def estimate_word_times(words: list[str], segments: list[tuple[float, float]]) -> tuple[WordView, ...]:
    """Spread untimed words over the speech segments in proportion to their length (a display aid only).

    >>> [(w.word, w.start, w.end) for w in estimate_word_times(["ab", "ab"], [(1.0, 2.0)])]
    [('ab', 1.0, 1.5), ('ab', 1.5, 2.0)]
    """
    total = sum(e - s for s, e in segments)
    if not words or total <= 0:
        return tuple(WordView(w, None, None, True) for w in words)
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
        out.append(WordView(word, round(start, 3), round(pos, 3), True))
    return tuple(out)


def _norm(token: str) -> str:
    return token.lower().strip(".,;:!?\"()[]\u201c\u201d\u2018").replace("\u2019", "'")


def place_phrase(phrase: str, words: tuple[WordView, ...]) -> tuple[float, float] | None:
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


def _placed_flag(flag: FlagView, words: tuple[WordView, ...]) -> FlagView:
    if flag.start is not None or not flag.message.startswith("\u201c") or "\u201d" not in flag.message:
        return flag
    span = place_phrase(flag.message[1:flag.message.index("\u201d")], words)
    if span is None:
        return flag
    return FlagView(flag.kind, flag.severity, span[0], span[1], flag.message, estimated=True)


def turn_report(turn_id: int, index: int, customer_text: str | None, audio_path: str, record: dict | None,
                comments: tuple[CommentView, ...] = ()) -> TurnReport:
    """Parse one stored analysis record (schema voicerehearse.analysis/1) into a :class:`TurnReport`."""
    r = record or {}
    delivery = r.get("delivery") or {}
    speech = r.get("speech") or {}
    pace = r.get("pace") or {}
    tone = r.get("tone") or {}
    turn = r.get("turn") or {}
    stereo = r.get("stereo") or {}
    transcript = r.get("transcript") or {}
    segments = tuple((float(s["start"]), float(s["end"])) for s in speech.get("segments") or ())
    raw_words = transcript.get("words") or ()
    if raw_words and all(_f(w.get("start")) is not None for w in raw_words):
        words = tuple(WordView(str(w["word"]), float(w["start"]), float(w["end"]), conf=_f(w.get("conf")))
                      for w in raw_words)
    else:
        words = estimate_word_times([str(w.get("word", "")) for w in raw_words], list(segments))
    reasons = tuple(
        Reason(str(x.get("cue", "")), str(x.get("style", "")), _f(x.get("value")), _f(x.get("baseline")),
                   _f(x.get("threshold")), str(x.get("unit") or ""), str(x.get("message", "")),
                   _f(x.get("start")), _f(x.get("end")), float(x.get("weight") or 0.0))
        for x in delivery.get("reasons") or ()
    )
    flags = tuple(_placed_flag(FlagView(str(x.get("kind", "")), str(x.get("severity", "warning")),
                                        _f(x.get("start")), _f(x.get("end")), str(x.get("message", ""))), words)
                  for x in r.get("flags") or ())
    pauses = speech.get("pauses") or {}
    error = r.get("error")
    typed = _typed(r)
    events = ()
    card = None
    if typed is not None:
        from voicerehearse.review import call_card, turn_events

        events = turn_events(typed)
        if "call_transcript" in r or typed.stereo is not None:
            card = call_card(typed, _settings())
    take = (r.get("practice") or {}).get("take")
    return TurnReport(
        id=turn_id, index=index, customer_text=customer_text, audio_path=audio_path,
        duration_s=_f(r.get("duration_s")), label=delivery.get("label"),
        scores={k: float(v) for k, v in (delivery.get("scores") or {}).items() if _f(v) is not None},
        reasons=reasons, notes=tuple(str(n) for n in delivery.get("notes") or ()), flags=flags, words=words,
        transcript_note=transcript.get("note"), segments=segments,
        words_per_minute=_f(pace.get("words_per_minute")), syllables_per_second=_f(pace.get("syllables_per_second")),
        articulation_rate=_f(pace.get("articulation_rate")),
        pauses=pauses.get("count"), longest_pause_s=_f(pauses.get("longest_s")),
        loudness_db=_f(tone.get("loudness_db")), loudness_delta_db=_f(tone.get("loudness_delta_db")),
        pitch_median_hz=_f(tone.get("pitch_median_hz")), pitch_delta_st=_f(tone.get("pitch_delta_st")),
        pitch_sd_st=_f(tone.get("pitch_sd_st")), alpha_ratio_delta_db=_f(tone.get("alpha_ratio_delta_db")),
        baseline_name=tone.get("baseline"),
        prompt_start_s=_f(turn.get("prompt_start_s")), prompt_end_s=_f(turn.get("prompt_end_s")),
        reply_start_s=_f(turn.get("reply_start_s")), response_latency_s=_f(turn.get("response_latency_s")),
        interrupted=turn.get("interrupted"),
        interruptions=tuple((float(i["start"]), float(i["end"])) for i in turn.get("interruptions") or ()),
        talk_overs=len(stereo.get("talk_overs") or ()) if stereo else None,
        error=(error or {}).get("message") if error else None,
        record=r, comments=comments,
        transcript_engine=transcript.get("engine"), transcript_model=transcript.get("model"),
        call=call_lines(r.get("call_transcript")), call_note=(r.get("call_transcript") or {}).get("note"),
        events=events, take=int(take) if isinstance(take, int) and take > 1 else None, analysis=typed, card=card,
    )


def _typed(record: dict):
    """The typed Analysis of a stored record, or None for an error record or one that cannot be read."""
    from voicerehearse.errors import StoreFormatError
    from voicerehearse.schema import analysis_from_record

    try:
        return analysis_from_record(record)
    except StoreFormatError:
        return None


def _settings():
    from voicerehearse.settings import load_settings

    return load_settings()


def comment_view(comment, authors: dict[int, str] | None = None, replies=()) -> CommentView:
    """A :class:`voicerehearse.store.Comment` row as a view; ``authors`` maps user ids to names; ``replies``:
    its :class:`voicerehearse.store.CommentReply` rows."""
    authors = authors or {}
    author = authors.get(comment.author_id) if comment.author_id is not None else None
    return CommentView(comment.id, comment.turn_id, float(comment.start_s),
                       None if comment.end_s is None else float(comment.end_s), comment.text, author,
                       comment.updated_at, tuple((authors.get(r.author_id), r.text) for r in replies))


def replies_of(db, comment_ids) -> dict[int, list]:
    """Replies per comment id, oldest first (one query)."""
    from sqlalchemy import select

    from voicerehearse.store import CommentReply

    out: dict[int, list] = {}
    ids = list(comment_ids)
    if db is None or not ids:
        return out
    for reply in db.scalars(select(CommentReply).where(CommentReply.comment_id.in_(ids))
                            .order_by(CommentReply.created_at, CommentReply.id)):
        out.setdefault(reply.comment_id, []).append(reply)
    return out


def author_names(db) -> dict[int, str]:
    from sqlalchemy import select

    from voicerehearse.store import User

    return dict(db.execute(select(User.id, User.username)).all())


def session_report(session, coach_id: int | None = None) -> SessionReport:
    """Build the report of a :class:`voicerehearse.store.PracticeSession` (inside an open DB session); the
    scorecard carries ``coach_id``'s answers when that coach saved some, else the latest saved."""
    from sqlalchemy.orm import object_session

    db = object_session(session)
    authors = author_names(db) if db is not None else {}
    replies = replies_of(db, [c.id for t in session.turns for c in t.comments])
    turns = tuple(
        turn_report(t.id, t.index, t.customer_text, t.audio_path, t.analysis,
                    tuple(comment_view(c, authors, replies.get(c.id, ())) for c in t.comments))
        for t in session.turns
    )
    return _reviewed(SessionReport(id=session.id, trainee=session.trainee.name, scenario_id=session.scenario_id,
                                   scenario_title=session.scenario_title, source=session.source,
                                   started_at=session.started_at, turns=turns, status=session.status,
                                   note=session.note), db, coach_id)


def _reviewed(report: SessionReport, db, coach_id: int | None = None) -> SessionReport:
    """The report with its top moments, call card, scorecard and review status."""
    from dataclasses import replace

    from voicerehearse.errors import ConfigError
    from voicerehearse.review import practice_card, rubric_for, top_moments
    from voicerehearse.scorecard import score

    analyses = [t.analysis for t in report.turns]
    moments = top_moments([(t.id, t.index, t.analysis) for t in report.turns])
    card = next((t.card for t in report.turns if t.card is not None), None)
    if card is None and report.source != "import":
        card = practice_card(analyses, _settings())
    status, reason, answers = "new", None, {}
    if db is not None:
        from voicerehearse.store import ScorecardAnswers, SessionReview

        review = db.get(SessionReview, report.id)
        if review is not None:
            status, reason = review.status, review.reason
        from sqlalchemy import select

        rows = db.scalars(select(ScorecardAnswers).where(ScorecardAnswers.session_id == report.id)
                          .order_by(ScorecardAnswers.updated_at.desc(), ScorecardAnswers.id.desc())).all()
        mine = [r for r in rows if coach_id is not None and r.coach_id == coach_id]
        if mine or rows:
            answers = dict((mine or rows)[0].answers or {})
    try:
        rubric = rubric_for(report.scenario_id)
        card_score = score(rubric, [a for a in analyses if a is not None], answers)
    except ConfigError:  # a rubric file that does not load (or answers the rubric no longer takes)
        card_score = None
    return replace(report, moments=moments, card=card, scorecard=card_score, review_status=status,
                   review_reason=reason)


def load_report(store, session_id: int) -> SessionReport:
    """The report of session ``session_id`` in ``store``; ReportError when there is no such session."""
    from voicerehearse.store import PracticeSession

    with store.session() as db:
        session = db.get(PracticeSession, session_id)
        if session is None:
            raise ReportError(f"no session {session_id} in {store.data_dir}")
        return session_report(session)


# ---------------------------------------------------------------- writers


def write_json(report: SessionReport) -> str:
    """The session with each turn's analysis record exactly as stored (schema voicerehearse.analysis/1)."""
    body = {
        "schema": REPORT_SCHEMA,
        "session": {"id": report.id, "trainee": report.trainee, "scenario_id": report.scenario_id,
                    "scenario_title": report.scenario_title, "source": report.source, "status": report.status,
                    "started_at": report.started_at.isoformat() if report.started_at else None},
        "turns": [{"index": t.index, "customer_text": t.customer_text, "audio_path": t.audio_path,
                   "transcript": {"engine": t.transcript_engine, "model": t.transcript_model,
                                  "rough": t.transcript_rough, "label": t.transcript_label},
                   "analysis": t.record, "comments": [c.as_json() for c in t.comments]} for t in report.turns],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def vtt_time(seconds: float) -> str:
    """``>>> vtt_time(3725.5)`` gives ``'01:02:05.500'``."""
    ms = int(round(max(seconds, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note_text(text: str) -> str:
    # a NOTE block ends at a blank line and may not contain "-->"
    return " ".join(text.split()).replace("-->", "->")


def _word_cues(turn: TurnReport, max_words: int = 8, gap_s: float = 0.6):
    group: list[WordView] = []
    for w in turn.words:
        if w.start is None:
            continue
        if group and (len(group) >= max_words or w.start - group[-1].end > gap_s):
            yield group
            group = []
        group.append(w)
    if group:
        yield group


def write_vtt(report: SessionReport) -> str:
    """WebVTT: transcript cues per turn, flags and comments as NOTE blocks.

    Turns are laid end to end (turn 2 starts where turn 1's recording ends), as a playlist would play them.
    """
    out = ["WEBVTT", "",
           _note_text(f"NOTE VoiceRehearse session {report.id}: {report.trainee}, {report.scenario_title}. "
                      "Turns are laid end to end in recording order."), ""]
    offset = 0.0
    for turn in report.turns:
        out += [_note_text(f"NOTE turn {turn.index + 1}: verdict {turn.label or 'not analysed'}"
                           + (f", starts at {vtt_time(offset)}" if offset else "")), ""]
        if turn.transcript_source and turn.words:
            out += [_note_text(f"NOTE transcript turn {turn.index + 1}: {turn.transcript_source}"
                               + (f". {ROUGH_TAG} {turn.transcript_label}" if turn.transcript_label else "")), ""]
        events: list[tuple[float, str]] = []
        for n, group in enumerate(_word_cues(turn)):
            text = (f"{ROUGH_TAG} " if turn.transcript_label else "") + " ".join(w.word for w in group)
            cue = f"turn{turn.index + 1}-{n + 1}\n{vtt_time(offset + group[0].start)} --> " \
                  f"{vtt_time(offset + max(group[-1].end, group[0].start + 0.05))}\n{_vtt_text(text)}"
            events.append((group[0].start, cue))
        for f in turn.flags:
            when = ("about " if f.estimated else "") + f"{vtt_time(offset + f.start)}" \
                + (f" to {vtt_time(offset + f.end)}" if f.end is not None else "") if f.start is not None else "untimed"
            events.append((f.start if f.start is not None else -1.0,
                           _note_text(f"NOTE flag {f.severity} {f.kind} {when}: {f.message}")))
        for c in turn.comments:
            when = vtt_time(offset + c.start_s) + (f" to {vtt_time(offset + c.end_s)}" if c.end_s is not None else "")
            events.append((c.start_s, _note_text(f"NOTE comment {when}"
                                                 + (f" by {c.author}" if c.author else "") + f": {c.text}")))
        events.sort(key=lambda e: (e[0], not e[1].startswith("NOTE")))
        for _, block in events:
            out += [block, ""]
        offset += turn.duration_s or 0.0
    return "\n".join(out)


_HTML_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ r.trainee }} · {{ r.scenario_title }} — VoiceRehearse report</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2933;max-width:56rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin:1.6rem 0 .4rem}
.meta{color:#52606d} .card{border:1px solid #d9e2ec;border-radius:8px;padding:1rem;margin:1rem 0}
.verdict{display:inline-block;padding:.1rem .6rem;border-radius:999px;color:#fff;font-weight:600}
.aggressive{background:#c53030}.passive{background:#b7791f}.assertive{background:#2f855a}.none{background:#7b8794}
table{border-collapse:collapse;width:100%;margin:.4rem 0} td,th{border-bottom:1px solid #e4e7eb;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{font-weight:600;color:#3e4c59} .num{text-align:right;font-variant-numeric:tabular-nums}
.flag-problem{color:#c53030}.flag-warning{color:#b7791f}.flag-info,.ok{color:#2f855a}
blockquote{margin:.4rem 0;padding:.3rem .8rem;border-left:3px solid #9fb3c8;color:#334e68}
footer{margin-top:2rem;color:#7b8794;font-size:.85rem}
.rough-label{background:#fffbea;border-left:3px solid #b7791f;padding:.3rem .6rem;color:#8d5b0a} .reply.rough{font-style:italic}
.low-conf{color:#9aa5b1} 
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:.6rem}
svg.chart .band{fill:#c6f6d5;opacity:.55} svg.chart .zero{stroke:#9fb3c8;stroke-dasharray:3 3}
svg.chart .axis{font-size:11px;fill:#627d98} svg.chart .value{font-size:10px;fill:#243b53} svg.chart .chart-title{font-size:13px;font-weight:600;fill:#243b53}
</style></head><body>
<h1>{{ r.scenario_title }}</h1>
<p class="meta">Trainee <strong>{{ r.trainee }}</strong> · session {{ r.id }}{% if r.started_at %} · {{ r.started_at.strftime('%Y-%m-%d %H:%M') }} UTC{% endif %} · {{ r.source }}</p>
{% if r.source == 'demo' %}<p class="meta">Demo session: the recordings are synthetic voices, not a real trainee.</p>{% endif %}
<p class="meta">Review: <strong class="status">{{ r.review_status }}</strong>{% if r.review_status == 'disputed' and r.review_reason %} — “{{ r.review_reason }}”{% endif %}{% if r.scorecard and r.scorecard.score_pct is not none %} · score <strong>{{ '%.0f'|format(r.scorecard.score_pct) }} %</strong>{% endif %}</p>
{% if r.moments %}<section class="card moments"><h2>Top moments</h2><ol>{% for m in r.moments %}<li class="{{ 'ok' if m.event.strength else 'flag-' ~ m.event.severity }}"><strong>{{ clock(m.when) }}{% if r.turns|length > 1 %} (turn {{ m.turn_number }}){% endif %} · {{ '✓ ' if m.event.strength }}{{ m.event.name }}</strong> — {{ m.event.summary }}. <span class="meta">{{ m.event.why if not m.event.strength else m.event.instead }}</span></li>{% endfor %}</ol></section>{% endif %}
{% if r.card %}{% set c = r.card %}<section class="card"><h2>Call figures</h2>
{% if not c.separated %}<p class="rough-label" data-label="sides-not-separated">&#9888; Mono recording: the agent's and the customer's voices are mixed, so talk ratio, monologue, interactivity and talk-overs cannot be given.</p>{% endif %}
<table>{% if c.separated %}<tr><th>agent talk ratio</th><td class="num">{{ fmt(c.agent_share * 100 if c.agent_share is not none else none, '{:.0f} %') }}</td><th>longest agent monologue</th><td class="num">{{ fmt(c.longest_monologue_s, '{:.0f} s') }}</td></tr>
<tr><th>interactivity</th><td class="num">{{ fmt(c.switches_per_min, '{:.1f} switches a minute') }}</td><th>patience</th><td class="num">{{ fmt(c.patience_s, '{:.1f} s') }}</td></tr>
<tr><th>agent talk-overs</th><td class="num">{{ c.agent_takeovers if c.agent_takeovers is not none else '–' }}{% if c.agent_backchannels %} ({{ c.agent_backchannels }} backchannels not counted){% endif %}</td><th>customer talk-overs</th><td class="num">{{ c.customer_talk_overs if c.customer_talk_overs is not none else '–' }}</td></tr>
{% if c.agent_wpm is not none %}<tr><th>agent pace (own speech)</th><td class="num">{{ '%.0f'|format(c.agent_wpm) }} words a minute</td><th></th><td></td></tr>{% endif %}{% endif %}
<tr><th>dead air (≥ {{ '%g'|format(c.dead_air_min_s) }} s)</th><td class="num">{{ c.dead_air|length }}</td><th></th><td>{% for g in c.dead_air[:6] %}{{ clock(g.start) }} ({{ '%.0f'|format(g.end - g.start) }} s){{ ', ' if not loop.last }}{% endfor %}</td></tr></table></section>{% endif %}
{% if r.scorecard %}{% set sc = r.scorecard %}<section class="card scorecard"><h2>Scorecard: {{ sc.rubric.title }}</h2>
<p>Score <strong>{{ fmt(sc.score_pct, '{:.0f} %') }}</strong> · pass mark {{ '%.0f'|format(sc.rubric.pass_mark_pct) }} %{% if sc.passed is not none %} · <strong>{{ 'passed' if sc.passed else 'not passed' }}</strong>{% else %} · the coach's criteria are not all answered{% endif %}</p>
<table><tr><th>criterion</th><th class="num">weight</th><th>result</th><th>evidence</th></tr>{% for x in sc.results %}<tr><td>{{ x.criterion.title }}</td><td class="num">{{ '%g'|format(x.criterion.weight) }}</td><td>{{ '–' if x.points is none else ('✓' if x.points >= 1 else ('✗' if x.points <= 0 else '%.0f %%'|format(100 * x.points))) }}</td><td>{{ x.rationale }}</td></tr>{% endfor %}</table></section>{% endif %}
{% if charts %}<div class="charts">{% for c in charts %}<div>{{ c }}</div>{% endfor %}</div>{% endif %}
{% for t in r.turns %}
<section class="card">
<h2>Turn {{ t.index + 1 }}{% if t.take %} (take {{ t.take }}){% endif %} <span class="verdict {{ t.label if t.label in styles else 'none' }}">{{ t.label or 'not analysed' }}</span></h2>
{% if t.customer_text %}<blockquote>Customer: {{ t.customer_text }}</blockquote>{% endif %}
{% if t.transcript_label %}<p class="rough-label" data-label="rough-transcript">&#9888; {{ t.transcript_label }}</p>{% endif %}
{% if t.words %}<p class="reply{{ ' rough' if t.transcript_label }}"><strong>Reply{{ ' (rough transcript)' if t.transcript_label }}:</strong> {% for w in t.words %}{% if w.low_confidence(low_conf) %}<span class="low-conf" title="confidence {{ '%.2f'|format(w.conf) }}">{{ w.word }}</span>{% else %}{{ w.word }}{% endif %}{{ ' ' if not loop.last }}{% endfor %}</p>
{% if t.transcript_source %}<p class="meta">Transcript: {{ t.transcript_source }}</p>{% endif %}{% endif %}
{% if t.call %}<h3>Call transcript{{ ' (rough)' if t.call_rough }}</h3>
{% if t.call_rough %}<p class="rough-label" data-label="rough-transcript">&#9888; {{ rough_label }}</p>{% endif %}
{% if t.call_note %}<p class="meta call-note">{{ t.call_note }}</p>{% endif %}
<table class="call">{% for line in t.call %}<tr><td class="num">{{ fmt(line.start, '{:.1f} s') }}</td><th>{{ line.side }}</th><td>{{ line.text }}</td></tr>{% endfor %}</table>{% endif %}
{% if t.error %}<p class="flag-problem">Not analysed: {{ t.error }}</p>{% endif %}
<table><tr><th>pace</th><td class="num">{{ fmt(t.words_per_minute, '{:.0f} wpm') }}</td>
<th>latency</th><td class="num">{{ fmt(t.response_latency_s, '{:+.2f} s') }}</td>
<th>interrupted</th><td>{{ 'yes' if t.interrupted else ('no' if t.interrupted is not none else '–') }}</td></tr>
<tr><th>loudness vs baseline</th><td class="num">{{ fmt(t.loudness_delta_db, '{:+.1f} dB') }}</td>
<th>pitch vs baseline</th><td class="num">{{ fmt(t.pitch_delta_st, '{:+.1f} st') }}</td>
<th>pauses</th><td class="num">{{ t.pauses if t.pauses is not none else '–' }}</td></tr></table>
{% if t.judged_against %}<p class="meta">Voice compared with {{ t.judged_against }}.</p>{% endif %}
{% set red = t.record.get('redaction') %}{% if red and red.enabled and red.numbers %}<p class="meta redaction">{{ red.numbers }} spoken number(s) masked in the transcript and {{ 'beeped' if red.audio == 'beep' else 'silenced' }} in the stored recording.</p>{% endif %}
{% if t.events %}<h3>What happened</h3><ul>{% for e in t.events %}<li class="{{ 'ok' if e.strength else 'flag-' ~ e.severity }}">{% if e.start is not none and not e.whole_reply %}{{ clock(e.start) }}: {% else %}whole reply: {% endif %}<strong>{{ '✓ ' if e.strength }}{{ e.name }}</strong> — {{ e.summary }}. <span class="meta">{{ e.why }}</span></li>{% endfor %}</ul>{% endif %}
{% if t.comments %}<h3>Coach comments</h3><ul>{% for c in t.comments %}<li>{{ '%.2f'|format(c.start_s) }} s{% if c.end_s is not none %}–{{ '%.2f'|format(c.end_s) }} s{% endif %}{% if c.author %} · {{ c.author }}{% endif %}: {{ c.text }}{% for a, text in c.replies %}<br><span class="meta">↳ {{ a or 'reply' }}: {{ text }}</span>{% endfor %}</li>{% endfor %}</ul>{% endif %}
</section>
{% endfor %}
{% if dimmed %}<p class="meta">Dimmed words were recognised with less than {{ '%.0f'|format(100 * low_conf) }}% confidence.</p>{% endif %}
{% if r.turns|selectattr('words_estimated')|list %}<p class="meta">≈ times are placed on word times estimated from the speech segments (the transcript had no word timings).</p>{% endif %}
<footer>VoiceRehearse report · analysis schema voicerehearse.analysis/1 · a self-contained page: no scripts, no external requests.</footer>
</body></html>
"""


def _fmt(value, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def turn_charts(report: SessionReport, settings=None) -> list:
    """Pace, loudness and pitch per turn against their thresholds: inline SVG (markupsafe.Markup)."""
    from voicerehearse.delivery import normal_band
    from voicerehearse.settings import load_settings
    from voicerehearse import charts as plots

    st = settings or load_settings()
    items = lambda attr: [(f"turn {t.index + 1}", getattr(t, attr), t.label) for t in report.turns]
    charts = [
        plots.bar_chart(items("words_per_minute"), band=(st.slow_wpm, st.rushed_wpm), unit="wpm",
                        title="Pace per turn"),
        plots.bar_chart(items("loudness_delta_db"), band=normal_band("loudness", st), unit="dB",
                        title="Loudness vs baseline", zero=True, band_note="baseline band"),
        plots.bar_chart(items("pitch_delta_st"), band=normal_band("pitch", st), unit="st",
                        title="Pitch vs baseline", zero=True, band_note="baseline band"),
    ]
    measured = [any(getattr(t, a) is not None for t in report.turns)
                for a in ("words_per_minute", "loudness_delta_db", "pitch_delta_st")]
    return [c for c, has in zip(charts, measured) if has]  # a chart with no value at all is left out


def write_html(report: SessionReport) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, no external requests) a coach can e-mail."""
    from jinja2 import Environment

    from voicerehearse.settings import load_settings

    env = Environment(autoescape=True)
    charts = turn_charts(report) if report.turns else []
    low_conf = load_settings().low_word_confidence_fraction
    dimmed = any(w.low_confidence(low_conf) for t in report.turns for w in t.words)
    return env.from_string(_HTML_TEMPLATE).render(r=report, fmt=_fmt, styles=STYLES, charts=charts,
                                                  low_conf=low_conf, dimmed=dimmed, rough_label=ROUGH_LABEL,
                                                  clock=_clock)


def _clock(t: float | None) -> str:
    """``m:ss.s`` (``>>> _clock(65.25)`` gives ``'1:05.2'``)."""
    return "–" if t is None else f"{int(t // 60)}:{t % 60:04.1f}"


def write_pdf(report: SessionReport) -> bytes:
    """The HTML report as a PDF, rendered by WeasyPrint (it draws the inline SVG charts and the CSS; measured
    against xhtml2pdf, which dropped the charts). Raises ReportError when WeasyPrint is not installed."""
    try:
        import weasyprint
    except ImportError:  # an optional dependency: the other formats work without it
        raise ReportError("PDF export needs WeasyPrint: pip install 'weasyprint>=62'") from None
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # it warns about every CSS property it skips
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint.HTML(string=write_html(report)).write_pdf()


@dataclass(frozen=True)
class Writer:
    name: str
    extension: str
    mimetype: str
    write: Callable[[SessionReport], str | bytes]


WRITERS: dict[str, Writer] = {
    "json": Writer("json", "json", "application/json", write_json),
    "vtt": Writer("vtt", "vtt", "text/vtt", write_vtt),
    "html": Writer("html", "html", "text/html", write_html),
    "pdf": Writer("pdf", "pdf", "application/pdf", write_pdf),
}


def get_writer(fmt: str) -> Writer:
    try:
        return WRITERS[fmt]
    except KeyError:
        raise ReportError(f"unknown report format {fmt!r}; choose one of {', '.join(sorted(WRITERS))}") from None


def render(report: SessionReport, fmt: str) -> str | bytes:
    return get_writer(fmt).write(report)


__all__ = ["SessionReport", "TurnReport", "CommentView", "WRITERS", "get_writer", "render", "load_report",
           "session_report", "turn_report", "ReportError"]
