"""Which sessions a list shows: one filter, one query, for the web lists and ``voicerehearse sessions list``.

The query reads the sessions' summary columns, their review status and their scorecard score (the mean over
the coaches who scored it), never the turns, so a page costs the same whatever the history.

>>> f = SessionFilter.parse({"verdict": "passive", "since": "2026-01-02", "min_score": "60"})
>>> f.verdict, f.since.isoformat(), f.min_score_pct, f.active
('passive', '2026-01-02', 60.0, True)
>>> SessionFilter.parse({"status": "lost"})
Traceback (most recent call last):
...
voicerehearse.errors.ConfigError: a review status is one of new, reviewed, shared, acknowledged, disputed; got 'lost'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, func, or_, select

from voicerehearse.errors import ConfigError
from voicerehearse.labels import REVIEW_STATUSES, STYLES
from voicerehearse.store import PracticeSession, ScorecardAnswers, SessionReview, Trainee

MAX_TEXT_CHARS = 100  # longer search text is cut (it is matched with LIKE)


@dataclass(frozen=True)
class SessionFilter:
    """What a session list keeps; every field None keeps everything. Dates are UTC days, both ends included."""

    trainee: str | None = None  # the trainee's name, exactly (the CLI); the web uses trainee_id
    trainee_id: int | None = None
    scenario: str | None = None  # the scenario's id, or a part of its title
    since: date | None = None
    until: date | None = None
    verdict: str | None = None  # the session's majority verdict
    status: str | None = None  # the review status (REVIEW_STATUSES)
    min_score_pct: float | None = None
    max_score_pct: float | None = None
    text: str | None = None  # a part of the title, the note or the trainee's name

    @property
    def active(self) -> bool:
        """True when anything is filtered (besides the trainee whose page it is)."""
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name not in ("trainee", "trainee_id"))

    @classmethod
    def parse(cls, args: Mapping[str, str | None], **fixed) -> "SessionFilter":
        """From form or option values (strings; empty means not set); ConfigError names the field it is about."""
        def text(name):
            value = (args.get(name) or "").strip()
            return value[:MAX_TEXT_CHARS] or None

        def day(name):
            value = text(name)
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                raise ConfigError(f"a date is written YYYY-MM-DD, got {value!r}", field=name) from None

        def pct(name):
            value = text(name)
            if value is None:
                return None
            try:
                number = float(value.rstrip("% "))
            except ValueError:
                number = float("nan")
            if not 0 <= number <= 100:
                raise ConfigError(f"a score is a percentage from 0 to 100, got {value!r}", field=name)
            return number

        def one_of(name, allowed, what):
            value = text(name)
            if value is not None and value not in allowed:
                raise ConfigError(f"{what} is one of {', '.join(allowed)}; got {value!r}", field=name)
            return value

        found = cls(trainee=text("trainee"), scenario=text("scenario"), since=day("since"), until=day("until"),
                    verdict=one_of("verdict", STYLES, "a verdict"),
                    status=one_of("status", REVIEW_STATUSES, "a review status"),
                    min_score_pct=pct("min_score"), max_score_pct=pct("max_score"), text=text("q"), **fixed)
        if found.since and found.until and found.since > found.until:
            raise ConfigError(f"the first day {found.since} is after the last day {found.until}", field="since")
        return found


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def session_query(f: SessionFilter = SessionFilter()) -> Select:
    """Rows ``(PracticeSession, trainee name, review status, dispute reason, score %, coaches who scored it)``,
    newest first.

    >>> import tempfile
    >>> from voicerehearse.store import Store
    >>> store = Store.open(tempfile.mkdtemp())
    >>> with store.session() as db:
    ...     list(db.execute(session_query(SessionFilter(verdict="passive"))))
    []
    """
    s = PracticeSession
    score = (select(ScorecardAnswers.session_id, func.avg(ScorecardAnswers.score_pct).label("score"),
                    func.count(ScorecardAnswers.id).label("scorers"))
             .group_by(ScorecardAnswers.session_id).subquery())
    review_status = func.coalesce(SessionReview.status, "new")
    query = (select(s, Trainee.name, review_status.label("review"), SessionReview.reason,
                    score.c.score.label("score_pct"), func.coalesce(score.c.scorers, 0).label("scorers"))
             .join(Trainee, Trainee.id == s.trainee_id)
             .outerjoin(SessionReview, SessionReview.session_id == s.id)
             .outerjoin(score, score.c.session_id == s.id)
             .order_by(s.started_at.desc(), s.id.desc()))
    if f.trainee_id is not None:
        query = query.where(s.trainee_id == f.trainee_id)
    if f.trainee:
        query = query.where(Trainee.name == f.trainee)
    if f.scenario:
        query = query.where(or_(s.scenario_id == f.scenario, s.scenario_title.ilike(_like(f.scenario), escape="\\")))
    if f.since:
        query = query.where(s.started_at >= _start_of(f.since))
    if f.until:
        query = query.where(s.started_at < _start_of(f.until + timedelta(days=1)))
    if f.verdict:
        query = query.where(s.verdict == f.verdict)
    if f.status:
        query = query.where(review_status == f.status)
    if f.min_score_pct is not None:
        query = query.where(score.c.score >= f.min_score_pct)
    if f.max_score_pct is not None:
        query = query.where(score.c.score <= f.max_score_pct)
    if f.text:
        pattern = _like(f.text)
        query = query.where(or_(s.scenario_title.ilike(pattern, escape="\\"), s.note.ilike(pattern, escape="\\"),
                                Trainee.name.ilike(pattern, escape="\\")))
    return query


def scenario_choices(db, trainee_id: int | None = None) -> list[tuple[str, str]]:
    """``(scenario id, title)`` of the scenarios with stored sessions (of one trainee), for a filter's menu."""
    query = select(PracticeSession.scenario_id, func.max(PracticeSession.scenario_title)).group_by(
        PracticeSession.scenario_id).order_by(func.max(PracticeSession.scenario_title))
    if trainee_id is not None:
        query = query.where(PracticeSession.trainee_id == trainee_id)
    return [(sid, title) for sid, title in db.execute(query)]


# ----------------------------------------------------------------------------- a trainee against the team

@dataclass(frozen=True)
class Figure:
    """One figure of a trainee over their sessions, for the team view and the progress charts."""

    name: str
    title: str
    unit: str
    digits: int  # shown with this many decimals


FIGURES = (  # the only list of the team view's figures; their SQL is in _figure_columns
    Figure("assertive_share", "Assertive replies", "%", 0),
    Figure("latency_s", "Reply latency", "s", 2),
    Figure("interruptions_per_turn", "Interruptions a turn", "", 2),
    Figure("helpful_per_turn", "Helpful phrases a turn", "", 1),
    Figure("problem_per_turn", "Problem phrases a turn", "", 1),
)


def _figure_columns():
    s = PracticeSession
    judged = func.sum(s.aggressive_count) + func.sum(s.passive_count) + func.sum(s.assertive_count)
    turns = func.nullif(func.sum(s.turn_count), 0)
    return [
        (100.0 * func.sum(s.assertive_count) / func.nullif(judged, 0)).label("assertive_share"),
        func.avg(s.mean_latency_s).label("latency_s"),
        (1.0 * func.sum(s.interruption_count) / turns).label("interruptions_per_turn"),
        (1.0 * func.sum(s.helpful_phrase_count) / turns).label("helpful_per_turn"),
        (1.0 * func.sum(s.problem_phrase_count) / turns).label("problem_per_turn"),
    ]


def trainee_figures_query(scenario: str | None = None) -> Select:
    """Rows ``(trainee_id, sessions, <each of FIGURES>)`` over every trainee's sessions (of one scenario): one row
    a trainee, read from the session summaries only."""
    s = PracticeSession
    query = select(s.trainee_id, func.count(s.id).label("sessions"), *_figure_columns()).group_by(s.trainee_id)
    if scenario:
        query = query.where(s.scenario_id == scenario)
    return query


def team_medians(rows) -> dict[str, float | None]:
    """The median over trainees of each figure (trainees without a value left out).

    >>> from types import SimpleNamespace as Row
    >>> team_medians([Row(assertive_share=40.0, latency_s=None, interruptions_per_turn=0.5, helpful_per_turn=1.0,
    ...                   problem_per_turn=0.0), Row(assertive_share=60.0, latency_s=1.2, interruptions_per_turn=0.0,
    ...                   helpful_per_turn=2.0, problem_per_turn=1.0)])["assertive_share"]
    50.0
    """
    import statistics

    medians = {}
    for figure in FIGURES:
        values = [float(v) for v in (getattr(r, figure.name) for r in rows) if v is not None]
        medians[figure.name] = statistics.median(values) if values else None
    return medians
