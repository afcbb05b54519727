"""What a coach reads first about a session: each turn's events (every flag once, in people's words), the top
moments of the session, and the call card (talk ratio, monologue, interactivity, patience, dead air, talk-overs).

Built from the typed :class:`~voicerehearse.types.Analysis` of each stored record
(:func:`voicerehearse.schema.analysis_from_record`); names, reasons and advice come from
:mod:`voicerehearse.coaching`, so internal cue names and file names never reach the page.

>>> from voicerehearse.types import Reason
>>> r = Reason("raised_voice", "aggressive", 15.9, -25.9, 1.1, "dB", "Loudness +15.9 dB against calm.wav", 2.6, 6.0,
...            2.9, 2.9)
>>> e = event_of_reason(r, severity="problem")
>>> e.name, e.summary, e.whole_reply
('A raised voice', '15.9 dB louder than the calm read', True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from voicerehearse.coaching import advice
from voicerehearse.delivery import ACOUSTIC_CUES
from voicerehearse.types import Analysis, Flag, Reason, Span, StereoMetrics
from voicerehearse.settings import Settings

WHOLE_REPLY_CUES = frozenset(c.name for c in ACOUSTIC_CUES)  # judged over the whole reply: badges, not lanes
LEAD_IN_S = 1.5  # a moment plays from this long before it, so the listener hears what led to it
_SEVERITY_RANK = {"problem": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Event:
    """One flag or reason of a turn, listed once."""

    kind: str  # the cue (for colours and tests; never shown as text)
    name: str  # people's words, capitalised ("A raised voice")
    severity: str  # problem | warning | info (a strength)
    start: float | None
    end: float | None
    summary: str  # what happened, in plain units ("15.9 dB louder than your calm read")
    why: str  # why it matters (coaching)
    instead: str  # what to do, or what went well
    whole_reply: bool  # a cue of the whole reply (loudness, pitch, pace...): a badge, not a timed lane
    details: str = ""  # value, threshold and contribution, for the toggle
    contribution: float = 0.0

    @property
    def strength(self) -> bool:
        return self.severity == "info"

    @property
    def play_from(self) -> float | None:
        return None if self.start is None else round(max(0.0, self.start - LEAD_IN_S), 2)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _reference(baseline_name: str | None) -> str:
    return "a typical level" if not baseline_name or baseline_name == "absolute defaults" else "the calm read"


def _summary(r: Reason, reference: str) -> str:
    v = r.value
    if r.phrase:
        return f"Said \u201c{r.phrase}\u201d"
    if v is None:
        return _cap(advice(r.cue).name)
    if r.cue == "interruption":
        return f"Talked over the customer for {v:.1f} s"
    if r.cue == "long_latency":
        return f"Waited {v:.1f} s before answering"
    if r.cue in ("raised_voice", "soft_voice"):
        return f"{abs(v):.1f} dB {'louder' if v > 0 else 'softer'} than {reference}"
    if r.cue in ("raised_pitch", "lowered_pitch"):
        return f"{abs(v):.1f} semitones {'higher' if v > 0 else 'lower'} than {reference}"
    if r.cue in ("expressive", "monotone"):
        return f"Pitch moved {'more' if r.cue == 'expressive' else 'less'} than in {reference}"
    if r.cue in ("vocal_effort", "low_effort"):
        return f"{'More' if v > 0 else 'Less'} vocal effort than {reference} ({abs(v):.1f} dB)"
    if r.cue in ("tense_voice", "breathy_voice"):
        return f"{'Tenser' if r.cue == 'tense_voice' else 'Breathier'} voice than {reference} ({abs(v):.1f} dB)"
    if r.cue in ("harsh_timbre", "dull_timbre"):
        return f"{'Sharper' if v > 0 else 'Duller'} tone than {reference} ({abs(v):.1f} dB)"
    if r.cue in ("rushed", "slow"):
        return f"{abs(v - 1) * 100:.0f} % {'faster' if v > 1 else 'slower'} than {reference}"
    if r.unit == "wpm":
        return f"{v:.0f} words a minute"
    if r.unit == "count":
        return f"{v:.0f} times"
    return _cap(advice(r.cue).name)


def _details(r: Reason) -> str:
    parts = []
    if r.value is not None:
        parts.append(f"measured {r.value:.3g} {r.unit}".rstrip())
    if r.threshold is not None:
        parts.append(f"counts from {r.threshold:.3g} {r.unit}".rstrip())
    parts.append(f"adds {r.contribution:.2f} to the {r.style} score")
    return " · ".join(parts)


def event_of_reason(r: Reason, *, severity: str, baseline_name: str | None = "calm read") -> Event:
    a = advice(r.cue)
    return Event(r.cue, _cap(a.name), "info" if r.style == "assertive" else severity, r.start, r.end,
                 _summary(r, _reference(baseline_name)), a.why, a.instead, r.cue in WHOLE_REPLY_CUES,
                 _details(r), r.contribution)


def turn_events(analysis: Analysis) -> tuple[Event, ...]:
    """Every flag and reason of one turn, once each: a flag and the reason it came from are one event. Timed
    events in time order; problems before warnings before strengths."""
    flags: list[Flag] = list(analysis.flags)
    base = analysis.tone.baseline if analysis.tone is not None else None
    out: list[Event] = []
    for r in analysis.delivery.reasons:
        match = next((f for f in flags if f.kind == r.cue and (f.start == r.start or r.start is None)), None)
        if match is not None:
            flags.remove(match)
        severity = match.severity if match is not None else ("info" if r.style == "assertive" else "warning")
        out.append(event_of_reason(r, severity=severity, baseline_name=base))
    for f in flags:  # flags with no reason behind them (e.g. a cue found in rough words)
        a = advice(f.kind)
        out.append(Event(f.kind, _cap(a.name), f.severity, f.start, f.end, _cap(a.name), a.why, a.instead,
                         f.kind in WHOLE_REPLY_CUES))
    t = analysis.turn
    if t is not None and not t.interrupted and t.reply_start_s is not None and t.response_latency_s is not None:
        out.append(Event("let_finish", "Let the customer finish", "info", t.reply_start_s, None,
                         f"Answered {t.response_latency_s:.1f} s after the customer stopped",
                         "Waiting until the customer has finished tells them they are being heard.",
                         "You let the customer finish before you answered.", False))
    out.sort(key=lambda e: (e.start is None, e.start or 0.0, _SEVERITY_RANK.get(e.severity, 3)))
    return tuple(out)


@dataclass(frozen=True)
class Moment:
    """One of the top moments of a session."""

    turn_id: int
    turn_number: int  # 1-based
    event: Event
    when: float  # where the moment is (seconds into the turn's recording)

    @property
    def play_from(self) -> float:
        return round(max(0.0, self.when - LEAD_IN_S), 2)


def top_moments(turns: Sequence[tuple[int, int, Analysis | None]], count: int = 3) -> tuple[Moment, ...]:
    """The ``count`` events that matter most over the session's ``turns`` ((turn id, index, analysis)): the
    problems that weighed most, and at least one strength when there is any, in the order they happened.

    Whole-reply cues are placed at the start of the reply."""
    problems, strengths = [], []
    for turn_id, index, a in turns:
        if a is None:
            continue
        reply_start = a.speech.segments[0].start if a.speech.segments else 0.0
        for e in turn_events(a):
            when = e.start if e.start is not None and not e.whole_reply else reply_start
            m = Moment(turn_id, index + 1, e, when)
            (strengths if e.strength else problems).append(m)
    problems.sort(key=lambda m: (_SEVERITY_RANK.get(m.event.severity, 3), -m.event.contribution))
    strengths.sort(key=lambda m: -m.event.contribution)
    picked = problems[:count - 1] if strengths else problems[:count]
    seen = {(m.turn_id, m.event.kind) for m in picked}
    for m in strengths:
        if len(picked) >= count:
            break
        if (m.turn_id, m.event.kind) not in seen:
            picked.append(m)
            seen.add((m.turn_id, m.event.kind))
    for m in problems[len(picked):]:
        if len(picked) >= count:
            break
        if m not in picked:
            picked.append(m)
    return tuple(sorted(picked, key=lambda m: (m.turn_number, m.when)))


# ---------------------------------------------------------------- the call card


@dataclass(frozen=True)
class CallCard:
    """Header figures of a call (two sides) or a practice session (the customer's lines and the replies)."""

    separated: bool  # False: a mono call, the sides are mixed and most figures cannot be given
    agent_share: float | None  # of all speaking time, 0-1
    agent_speaking_s: float | None
    customer_speaking_s: float | None
    longest_monologue_s: float | None  # the agent's
    switches_per_min: float | None  # speaker changes per minute (interactivity)
    patience_s: float | None  # mean wait before the agent answers
    dead_air: tuple[Span, ...]  # silences of both sides longer than the setting
    dead_air_min_s: float
    agent_takeovers: int | None  # the agent's talk-overs that took the turn
    agent_backchannels: int | None  # the agent's short overlaps: "mm-hmm", hand-overs
    customer_talk_overs: int | None
    agent_wpm: float | None  # agent words over the agent's own speech only
    minutes: float | None


def _merge(spans: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: s.start):
        if out and s.start <= out[-1].end:
            out[-1] = Span(out[-1].start, max(out[-1].end, s.end))
        else:
            out.append(s)
    return out


def _switches(agent: Sequence[Span], customer: Sequence[Span]) -> int:
    timeline = sorted([(s.start, "a") for s in agent] + [(s.start, "c") for s in customer])
    return sum(1 for (_, x), (_, y) in zip(timeline, timeline[1:]) if x != y)


def _gaps(spans: Sequence[Span], duration: float, min_s: float) -> tuple[Span, ...]:
    merged = _merge(spans)
    return tuple(Span(round(a.end, 2), round(b.start, 2)) for a, b in zip(merged, merged[1:])
                 if b.start - a.end >= min_s)


def _agent_wpm(analysis: Analysis, agent: Sequence[Span]) -> float | None:
    t = analysis.transcript
    speaking = sum(s.duration_s for s in agent)
    if t is None or t.rough or not t.timed or speaking <= 0:
        return None
    inside = [w for w in t.words if any(s.start - 0.1 <= w.start <= s.end + 0.1 for s in agent)]
    return round(len(inside) / speaking * 60, 0) if len(inside) >= 8 else None


def call_card(analysis: Analysis, settings: Settings, *, takeovers=None) -> CallCard | None:
    """The card of a two-channel call (``analysis.stereo``), a mono call (a card that says the sides are mixed),
    or None for a turn that is neither (use :func:`practice_card` for rehearsal sessions).

    ``takeovers``: the agent's talk-overs that count (:func:`voicerehearse.pipeline.agent_takeovers`)."""
    dead_min = settings.dead_air_min_s
    stereo: StereoMetrics | None = analysis.stereo
    minutes = analysis.duration_s / 60 if analysis.duration_s else None
    if stereo is None:
        segs = analysis.speech.segments
        return CallCard(False, None, None, None, None, None, None, _gaps(segs, analysis.duration_s, dead_min),
                        dead_min, None, None, None, None, minutes)
    sides = {s.side: s for s in stereo.sides}
    agent, customer = sides.get("agent"), sides.get("customer")
    if agent is None or customer is None:
        return None
    if takeovers is None:
        from voicerehearse.pipeline import agent_takeovers

        takeovers = agent_takeovers(stereo, settings)
    agent_overs = [o for o in stereo.talk_overs if o.interrupter == "agent"]
    switches = _switches(agent.segments, customer.segments)
    return CallCard(
        True, agent.talk_ratio, agent.speaking_time_s, customer.speaking_time_s, agent.longest_monologue_s,
        round(switches / minutes, 1) if minutes else None, stereo.patience_s,
        _gaps(tuple(agent.segments) + tuple(customer.segments), analysis.duration_s, dead_min), dead_min,
        len(takeovers), len(agent_overs) - len(takeovers),
        sum(1 for o in stereo.talk_overs if o.interrupter == "customer"), _agent_wpm(analysis, agent.segments),
        minutes)


def practice_card(turns: Sequence[Analysis], settings: Settings) -> CallCard | None:
    """The card of a rehearsal: the customer's lines (prompt spans) against the replies, over all turns."""
    timed = [a for a in turns if a is not None and a.turn is not None]
    if not timed:
        return None
    agent_s = sum(a.speech.speaking_time_s for a in timed)
    customer_s = sum(max(0.0, a.turn.prompt_end_s - a.turn.prompt_start_s) for a in timed)
    total = agent_s + customer_s
    longest = max((s.duration_s for a in timed for s in _merge(a.speech.segments)), default=None)
    minutes = sum(a.duration_s for a in timed) / 60
    waits = [a.turn.response_latency_s for a in timed if a.turn.response_latency_s is not None
             and a.turn.response_latency_s >= 0]
    switches = sum(_switches(a.speech.segments, (Span(a.turn.prompt_start_s, a.turn.prompt_end_s),)) for a in timed)
    dead = tuple(g for a in timed for g in _gaps(
        tuple(a.speech.segments) + (Span(a.turn.prompt_start_s, a.turn.prompt_end_s),), a.duration_s,
        settings.dead_air_min_s))
    return CallCard(True, round(agent_s / total, 4) if total else None, round(agent_s, 2), round(customer_s, 2),
                    round(longest, 2) if longest is not None else None,
                    round(switches / minutes, 1) if minutes else None,
                    round(sum(waits) / len(waits), 2) if waits else None, dead, settings.dead_air_min_s,
                    sum(len(a.turn.interruptions) for a in timed), None, None, None, minutes)


# ---------------------------------------------------------------- scorecards


def rubric_for(scenario_id: str):
    """The rubric a session is scored with: the scenario pack's ``rubric`` when it names one, else the default
    (``service-call``). Raises ConfigError for a rubric that is named but not valid."""
    from voicerehearse.scorecard import DEFAULT_RUBRIC, load_rubric

    return load_rubric(_pack_rubric(scenario_id) or DEFAULT_RUBRIC)


@lru_cache(maxsize=1)
def _pack_rubrics() -> dict:
    from voicerehearse.errors import ConfigError
    from voicerehearse.scenarios.loader import load_scenarios

    try:
        return {s.id: getattr(s, "rubric", None) for s in load_scenarios()}
    except ConfigError:  # a broken pack elsewhere must not stop a review
        return {}


def _pack_rubric(scenario_id: str) -> str | None:
    return _pack_rubrics().get(scenario_id)


def manual_answers(rubric, body) -> dict:
    """The coach's answers (criterion id -> bool or 1-5) checked against ``rubric``: unknown ids, automatic
    criteria and values of the wrong kind raise ConfigError; ``None`` clears an answer."""
    from voicerehearse.errors import ConfigError
    from voicerehearse.scorecard import score

    if not isinstance(body, dict):
        raise ConfigError("answers must be an object of criterion id -> answer")
    kinds = {c.id: c.kind for c in rubric.criteria}
    out = {}
    for key, value in body.items():
        if key not in kinds:
            raise ConfigError(f"no criterion {key!r} in rubric {rubric.name}")
        if kinds[key] == "auto":
            raise ConfigError(f"criterion {key!r} is judged automatically")
        if value is None or value == "":
            continue
        if kinds[key] == "scale" and isinstance(value, str) and value.isdigit():
            value = int(value)
        if kinds[key] == "yes_no" and value in ("yes", "no"):
            value = value == "yes"
        out[key] = value
    score(rubric, [], out)  # raises ConfigError for a value of the wrong kind
    return out
