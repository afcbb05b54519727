"""Scorecards: weighted criteria from a rubric file, judged automatically from the analyses or by the coach.

A rubric (``voicerehearse/rubrics/*.toml``, or a file of your own) lists criteria of three kinds: ``auto``
(one of :data:`RULES`, judged from the turns' analyses with the moment that decided it), ``yes_no`` and
``scale`` (1-5) for the coach. The score is the weighted share of points of the criteria that have an answer;
``passed`` compares it with the rubric's ``pass_mark_pct`` once every criterion is answered.

>>> rubric = load_rubric()
>>> card = score(rubric, [], {})
>>> card.complete, [r.points for r in card.results][:2]
(False, [None, None])
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from voicerehearse.errors import ConfigError
from voicerehearse.types import Analysis

KINDS = ("auto", "yes_no", "scale")
DEFAULT_RUBRIC = "service-call"


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    kind: str  # auto | yes_no | scale
    weight: float
    rule: str | None = None  # auto only: a key of RULES
    cues: tuple[str, ...] = ()
    turn: int | None = None  # 1-based; None: any turn
    value: float | None = None  # the rule's number (seconds, share)


@dataclass(frozen=True)
class Rubric:
    name: str
    title: str
    pass_mark_pct: float
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    points: float | None  # 0-1; None: not answered yet (a coach's criterion)
    rationale: str
    turn: int | None = None  # the turn (1-based) and moment of the evidence
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Scorecard:
    rubric: Rubric
    results: tuple[CriterionResult, ...]
    score_pct: float | None  # over the answered criteria
    complete: bool  # every criterion answered
    passed: bool | None  # None until complete


def _evidence(turns: Sequence[Analysis], cues: tuple[str, ...], turn: int | None):
    """(turn number, reason or cue) for every matching reason or language cue, in order."""
    for n, a in enumerate(turns, start=1):
        if turn is not None and n != turn:
            continue
        for r in a.delivery.reasons:
            if r.cue in cues:
                yield n, r.start, r.end, r.phrase or _plain(r.cue)
        rough = a.transcript is not None and a.transcript.rough
        for c in () if rough else a.cues:  # the rough fallback's words are never evidence
            if c.category in cues and not any(r.cue == c.category and r.start == c.start for r in a.delivery.reasons):
                yield n, c.start, c.end, c.phrase


def _plain(cue: str) -> str:
    from voicerehearse.coaching import plain

    return plain(cue)


def _where(n, start):
    return f"turn {n}" + (f" at {start:.1f} s" if start is not None else "")


def _absent(c: Criterion, turns):
    hits = list(_evidence(turns, c.cues, c.turn))
    if not hits:
        return CriterionResult(c, 1.0, "none found")
    n, start, end, what = hits[0]
    more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
    return CriterionResult(c, 0.0, f"\u201c{what}\u201d, {_where(n, start)}{more}", n, start, end)


def _present(c: Criterion, turns):
    hits = list(_evidence(turns, c.cues, c.turn))
    if not hits:
        scope = f"turn {c.turn}" if c.turn else "any turn"
        return CriterionResult(c, 0.0, f"not heard in {scope}")
    n, start, end, what = hits[0]
    return CriterionResult(c, 1.0, f"\u201c{what}\u201d, {_where(n, start)}", n, start, end)


def _latency_under(c: Criterion, turns):
    timed = [(n, a.turn) for n, a in enumerate(turns, start=1) if a.turn is not None
             and a.turn.response_latency_s is not None and (c.turn is None or n == c.turn)]
    if not timed:
        return CriterionResult(c, None, "no timed reply to judge")
    n, worst = max(timed, key=lambda item: item[1].response_latency_s)
    lat = worst.response_latency_s
    ok = lat < c.value
    if lat < 0:  # no wait at all: the reply began before the customer finished (judged by the interruption rule)
        why = f"no wait: every reply began before the customer finished (turn {n}, {-lat:.1f} s early)"
    else:
        why = f"longest wait {lat:.1f} s ({_where(n, worst.prompt_end_s)})"
    return CriterionResult(c, 1.0 if ok else 0.0, why, n, worst.prompt_end_s, worst.reply_start_s)


def _assertive_share(c: Criterion, turns):
    judged = [a.delivery.label for a in turns if a.delivery.label != "no speech"]
    if not judged:
        return CriterionResult(c, None, "no reply to judge")
    share = judged.count("assertive") / len(judged)
    return CriterionResult(c, 1.0 if share >= c.value else 0.0,
                           f"{judged.count('assertive')} of {len(judged)} replies assertive")


RULES: dict[str, Callable[[Criterion, Sequence[Analysis]], CriterionResult]] = {
    "absent": _absent,  # none of `cues` (reasons or language cues) in `turn` (or any turn)
    "present": _present,  # one of `cues` in `turn` (or any turn)
    "latency_under": _latency_under,  # every reply starts within `value` seconds of the customer's end
    "assertive_share": _assertive_share,  # at least `value` of the replies judged assertive
}


def _criterion(raw: Mapping, where: str) -> Criterion:
    try:
        c = Criterion(str(raw["id"]), str(raw["title"]), str(raw["kind"]), float(raw.get("weight", 1)),
                      raw.get("rule"), tuple(raw.get("cues", ())), raw.get("turn"),
                      None if raw.get("value") is None else float(raw["value"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: criterion {raw.get('id', '?')!r} needs id, title and kind ({exc})") from None
    if c.kind not in KINDS:
        raise ConfigError(f"{where}: criterion {c.id!r}: kind must be one of {', '.join(KINDS)}, got {c.kind!r}")
    if c.weight <= 0:
        raise ConfigError(f"{where}: criterion {c.id!r}: weight must be above 0")
    if c.kind == "auto":
        if c.rule not in RULES:
            raise ConfigError(f"{where}: criterion {c.id!r}: rule must be one of {', '.join(RULES)}, got {c.rule!r}")
        if c.rule in ("absent", "present") and not c.cues:
            raise ConfigError(f"{where}: criterion {c.id!r}: rule {c.rule!r} needs cues")
        if c.rule in ("latency_under", "assertive_share") and c.value is None:
            raise ConfigError(f"{where}: criterion {c.id!r}: rule {c.rule!r} needs value")
    return c


def load_rubric(name_or_path: str | Path | None = None) -> Rubric:
    """A bundled rubric by name (default ``service-call``) or a TOML file; raises ConfigError with the file and
    field when it is not valid."""
    name = name_or_path or DEFAULT_RUBRIC
    path = Path(name)
    try:
        if path.suffix == ".toml" or path.exists():
            where, text = str(path), path.read_text(encoding="utf-8")
        else:
            where = f"rubric {name}"
            text = resources.files("voicerehearse").joinpath("rubrics", f"{name}.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError(f"rubric {name} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"rubric {name} is not valid TOML: {exc}") from None
    criteria = tuple(_criterion(raw, where) for raw in data.get("criterion", ()))
    if not criteria:
        raise ConfigError(f"{where}: a rubric needs at least one [[criterion]]")
    ids = [c.id for c in criteria]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{where}: criterion ids must be unique")
    try:
        mark = float(data.get("pass_mark_pct", 70))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: pass_mark_pct must be a number") from None
    if not 0 <= mark <= 100:
        raise ConfigError(f"{where}: pass_mark_pct must be 0-100, got {mark:g}")
    return Rubric(str(data.get("name", path.stem)), str(data.get("title", path.stem)), mark, criteria)


def _manual(c: Criterion, answer) -> CriterionResult:
    if answer is None:
        return CriterionResult(c, None, "for the coach to judge")
    if c.kind == "yes_no":
        if not isinstance(answer, bool):
            raise ConfigError(f"criterion {c.id!r} takes yes or no")
        return CriterionResult(c, 1.0 if answer else 0.0, "coach: yes" if answer else "coach: no")
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not 1 <= answer <= 5:
        raise ConfigError(f"criterion {c.id!r} takes a score from 1 to 5")
    return CriterionResult(c, (float(answer) - 1) / 4, f"coach: {answer:g} of 5")


def score(rubric: Rubric, turns: Sequence[Analysis], answers: Mapping[str, object]) -> Scorecard:
    """Judge every criterion: auto ones from ``turns`` (in turn order), the coach's from ``answers`` (criterion id
    -> bool for yes_no, 1-5 for scale). Raises ConfigError for an answer of the wrong kind."""
    results = tuple(_manual(c, answers.get(c.id)) if c.kind != "auto"
                    else RULES[c.rule](c, turns) if turns else CriterionResult(c, None, "no reply to judge")
                    for c in rubric.criteria)
    answered = [r for r in results if r.points is not None]
    weight = sum(r.criterion.weight for r in answered)
    pct = round(100 * sum(r.points * r.criterion.weight for r in answered) / weight, 1) if weight else None
    complete = len(answered) == len(results)
    return Scorecard(rubric, results, pct, complete, (pct >= rubric.pass_mark_pct) if complete and pct is not None
                     else None)


@dataclass(frozen=True)
class CriterionAgreement:
    """The coaches' answers to one manual criterion, side by side."""

    criterion: Criterion
    answers: tuple[object | None, ...]  # one per coach, in the coaches' order; None: not answered
    agreed: bool | None  # None: fewer than two coaches answered it


@dataclass(frozen=True)
class Calibration:
    """Several coaches' scorecards of one session and how far they agree.

    ``agreement_pct``: the share of the manual criteria answered by two or more coaches on which they agree
    (yes/no: the same answer; 1-5: at most the tolerance apart); ``score_spread_pct``: highest minus lowest
    score of the coaches' cards."""

    coaches: tuple[str, ...]
    cards: tuple[Scorecard, ...]
    criteria: tuple[CriterionAgreement, ...]
    agreement_pct: float | None
    score_spread_pct: float | None


def _agree(kind: str, given: list, tolerance_points: int) -> bool:
    if kind == "yes_no":
        return len(set(given)) == 1
    return max(given) - min(given) <= tolerance_points


def calibrate(rubric: Rubric, turns: Sequence[Analysis], answers_by_coach: Mapping[str, Mapping[str, object]], *,
              tolerance_points: int = 1) -> Calibration:
    """Compare the coaches' answers to ``rubric``'s manual criteria (the automatic ones are the same for all).

    >>> rubric = load_rubric()  # manual criteria: protects-company (yes/no), calm-tone (1-5), ...
    >>> cal = calibrate(rubric, [], {"Ana": {"protects-company": True, "calm-tone": 2},
    ...                              "Ben": {"protects-company": True, "calm-tone": 5}})
    >>> cal.coaches, cal.agreement_pct, [(a.criterion.id, a.agreed) for a in cal.criteria][:2]
    (('Ana', 'Ben'), 50.0, [('protects-company', True), ('calm-tone', False)])
    """
    coaches = tuple(answers_by_coach)
    cards = tuple(score(rubric, turns, answers_by_coach[name]) for name in coaches)
    criteria = []
    for c in rubric.criteria:
        if c.kind == "auto":
            continue
        answers = tuple(answers_by_coach[name].get(c.id) for name in coaches)
        given = [a for a in answers if a is not None]
        criteria.append(CriterionAgreement(c, answers, _agree(c.kind, given, tolerance_points)
                                           if len(given) >= 2 else None))
    judged = [a for a in criteria if a.agreed is not None]
    agreement = round(100 * sum(a.agreed for a in judged) / len(judged), 1) if judged else None
    scores = [card.score_pct for card in cards if card.score_pct is not None]
    spread = round(max(scores) - min(scores), 1) if len(scores) >= 2 else None
    return Calibration(coaches, cards, tuple(criteria), agreement, spread)
