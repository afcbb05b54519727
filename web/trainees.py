"""Trainees → their sessions → progress over time.

The lists read only the sessions' summary columns (kept by the store when turns are written), a page of
``PAGE_SIZE`` rows at a time, in a fixed number of SQL statements whatever the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, g, render_template, request
from sqlalchemy import func, select

from voicerehearse import charts as plots
from voicerehearse.delivery import normal_band
from voicerehearse.errors import ConfigError
from voicerehearse.labels import STYLES
from voicerehearse.session_list import (FIGURES, SessionFilter, scenario_choices, session_query, team_medians,
                                        trainee_figures_query)
from voicerehearse.store import PracticeSession, Trainee
from voicerehearse.web.auth import get_trainee_or_404, is_coach
from voicerehearse.web.db import get_db

bp = Blueprint("trainees", __name__)

PAGE_SIZE = 50  # rows per list page


@dataclass(frozen=True)
class Page:
    """Which slice of a list is shown: 1-based ``number``; ``more`` when an older page follows."""

    number: int
    more: bool

    @property
    def offset(self) -> int:
        return (self.number - 1) * PAGE_SIZE


def _page_number() -> int:
    number = request.args.get("page", 1, type=int)
    return number if number and 0 < number < 10**6 else 1


def _paged(db, query) -> tuple[list, Page]:
    """One statement: the page's rows, plus one row to tell whether another page follows."""
    number = _page_number()
    rows = list(db.execute(query.limit(PAGE_SIZE + 1).offset((number - 1) * PAGE_SIZE)))
    return rows[:PAGE_SIZE], Page(number, len(rows) > PAGE_SIZE)


def _counts(row) -> dict[str, int]:
    return {style: int(getattr(row, f"{style}_count") or 0) for style in STYLES}


@bp.get("/")
def index():
    db = get_db()
    s = PracticeSession
    totals = (select(s.trainee_id, func.count(s.id).label("sessions"),
                     *(func.sum(getattr(s, f"{style}_count")).label(f"{style}_count") for style in STYLES))
              .group_by(s.trainee_id).subquery())
    ranked = select(s.trainee_id, s.started_at, s.scenario_title,
                    func.row_number().over(partition_by=s.trainee_id,
                                           order_by=(s.started_at.desc(), s.id.desc())).label("rank")).subquery()
    query = (select(Trainee.id, Trainee.name, totals, ranked.c.started_at.label("last_at"),
                    ranked.c.scenario_title.label("last_title"))
             .outerjoin(totals, totals.c.trainee_id == Trainee.id)
             .outerjoin(ranked, (ranked.c.trainee_id == Trainee.id) & (ranked.c.rank == 1))
             .order_by(Trainee.name, Trainee.id))
    if not is_coach():
        query = query.where(Trainee.id == (g.user.trainee_id if g.user else -1))
    found, page = _paged(db, query)
    figures, team = {}, {}
    if is_coach() and found:  # the team view: every trainee's figures in one statement, the medians over them
        every = db.execute(trainee_figures_query()).all()
        figures, team = {r.trainee_id: r for r in every}, team_medians(every)
    rows = [{"id": r.id, "name": r.name, "sessions": r.sessions or 0, "last_at": r.last_at,
             "last_title": r.last_title, "counts": _counts(r), "figures": figures.get(r.id)} for r in found]
    return render_template("index.html", rows=rows, page=page, team=team, figures=FIGURES)


def _sessions_newest_first(trainee_id: int):
    return (select(PracticeSession).where(PracticeSession.trainee_id == trainee_id)
            .order_by(PracticeSession.started_at.desc(), PracticeSession.id.desc()))


def _filtered_list(template: str, *, trainee_id: int | None, **context):
    """A session list with the filter form: the page's rows in one statement, the scenario menu in another.
    A filter that cannot be read is named above an unfiltered list (never an error page)."""
    db = get_db()
    try:
        filters, error = SessionFilter.parse(request.args, trainee_id=trainee_id), None
    except ConfigError as exc:
        filters, error = SessionFilter(trainee_id=trainee_id), str(exc)
    found, page = _paged(db, session_query(filters))
    return render_template(template, rows=found, page=page, filters=filters, filter_error=error,
                           scenarios=scenario_choices(db, trainee_id), **context)


@bp.get("/trainees/<int:trainee_id>")
def trainee(trainee_id: int):
    t = get_trainee_or_404(trainee_id)
    return _filtered_list("trainee.html", trainee_id=t.id, trainee=t, show_trainee=False)


@bp.get("/sessions")
def sessions():
    """Every session a coach may see (an agent: their own), newest first, filtered by the form."""
    own = None if is_coach() else (g.user.trainee_id if g.user and g.user.trainee_id else -1)
    return _filtered_list("sessions.html", trainee_id=own, show_trainee=is_coach())


def progress_rows(sessions) -> list[dict]:
    """Table and chart rows of sessions (their summary columns), in the order given."""
    def per_turn(count, s):
        return count / s.turn_count if count is not None and s.turn_count else None

    return [{
        "session": s,
        "date": s.started_at,
        "verdict": s.verdict,
        "counts": _counts(s),
        "wpm": s.mean_wpm,
        "loudness": s.mean_loudness_delta_db,
        "pitch": s.mean_pitch_delta_st,
        "latency": s.mean_latency_s,
        "interruptions": s.interruption_count or 0,
        "interruptions_per_turn": per_turn(s.interruption_count, s),
        "helpful_per_turn": per_turn(s.helpful_phrase_count, s),
        "problem_per_turn": per_turn(s.problem_phrase_count, s),
    } for s in sessions]


def _median_note(value, unit: str, digits: int):
    return None if value is None else (value, f"team median {value:.{digits}f}{' ' + unit if unit else ''}")


@bp.get("/trainees/<int:trainee_id>/progress")
def progress(trainee_id: int):
    """The trainee's sessions (of one scenario, or all) a page at a time, newest first, charted oldest to newest
    against the team's median; totals over all. Charts with nothing to show are left out."""
    t = get_trainee_or_404(trainee_id)
    db = get_db()
    scenario = (request.args.get("scenario") or "").strip() or None
    query = _sessions_newest_first(t.id)
    if scenario:
        query = query.where(PracticeSession.scenario_id == scenario)
    found, page = _paged(db, query)
    rows = progress_rows([r[0] for r in found])
    s = PracticeSession  # one statement for the scenario menu and the totals: the trainee's sessions by scenario
    by_scenario = db.execute(select(s.scenario_id, func.max(s.scenario_title).label("title"),
                                    *(func.sum(getattr(s, f"{style}_count")).label(f"{style}_count")
                                      for style in STYLES))
                             .where(s.trainee_id == t.id).group_by(s.scenario_id)
                             .order_by(func.max(s.scenario_title))).all()
    totals = {style: sum(int(getattr(r, f"{style}_count") or 0) for r in by_scenario
                         if scenario is None or r.scenario_id == scenario) for style in STYLES}
    team = team_medians(db.execute(trainee_figures_query(scenario)).all()) if is_coach() else {}
    st = current_app.config["SETTINGS"]
    chronological = rows[::-1]
    pts = lambda key: [(r["date"].strftime("%m-%d"), r[key], r["verdict"]) for r in chronological]
    specs = [
        ("wpm", dict(band=(st.slow_wpm, st.rushed_wpm), unit="wpm", title="Pace (mean per session)")),
        ("loudness", dict(band=normal_band("loudness", st), unit="dB", title="Loudness vs own baseline",
                          band_note="baseline band")),
        ("pitch", dict(band=normal_band("pitch", st), unit="st", title="Pitch vs own baseline",
                       band_note="baseline band")),
        ("latency", dict(band=(0.0, st.long_latency_s), unit="s", title="Reply latency",
                         band_note="prompt, not interrupting", reference=_median_note(team.get("latency_s"), "s", 2))),
        ("interruptions_per_turn", dict(band=(0.0, 0.0), unit="a turn", title="Interruptions a turn",
                                        band_note="none", reference=_median_note(
                                            team.get("interruptions_per_turn"), "", 2))),
        ("helpful_per_turn", dict(band=None, unit="a turn", title="Helpful phrases a turn (empathy, ownership, ...)",
                                  reference=_median_note(team.get("helpful_per_turn"), "", 1))),
        ("problem_per_turn", dict(band=(0.0, 0.0), unit="a turn", title="Problem phrases a turn (blame, hedges, ...)",
                                  band_note="none", reference=_median_note(team.get("problem_per_turn"), "", 1))),
    ]
    charts = [plots.line_chart(pts(key), **spec) for key, spec in specs if any(r[key] is not None for r in rows)]
    return render_template("progress.html", trainee=t, rows=rows, charts=charts, totals=totals, page=page,
                           scenarios=[(r.scenario_id, r.title) for r in by_scenario], scenario=scenario)
