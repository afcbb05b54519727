"""``voicerehearse sessions list``: the stored sessions with their review status and figures, newest first.

Reads only the session rows (their stored summaries), the review status and the latest scorecard score, so it
stays quick on a long history.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from voicerehearse.cli.common import domain_errors

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Data directory (database + audio). Default: $VOICEREHEARSE_DATA_DIR or the user data directory.",
)
STATUSES = ("new", "reviewed", "shared", "acknowledged", "disputed")


@click.group()
def sessions() -> None:
    """Stored practice sessions and imported calls."""


def _rows(store, trainee, status, verdict, limit):
    from sqlalchemy import func, select

    from voicerehearse.store import PracticeSession, ScorecardAnswers, SessionReview, Trainee

    latest = (select(ScorecardAnswers.session_id, func.max(ScorecardAnswers.updated_at).label("at"))
              .group_by(ScorecardAnswers.session_id).subquery())
    score = (select(ScorecardAnswers.session_id, func.max(ScorecardAnswers.score_pct).label("score"))
             .join(latest, (latest.c.session_id == ScorecardAnswers.session_id)
                   & (latest.c.at == ScorecardAnswers.updated_at))
             .group_by(ScorecardAnswers.session_id).subquery())
    review_status = func.coalesce(SessionReview.status, "new")
    query = (select(PracticeSession, Trainee.name, review_status, SessionReview.reason, score.c.score)
             .join(Trainee, Trainee.id == PracticeSession.trainee_id)
             .outerjoin(SessionReview, SessionReview.session_id == PracticeSession.id)
             .outerjoin(score, score.c.session_id == PracticeSession.id)
             .order_by(PracticeSession.started_at.desc(), PracticeSession.id.desc()).limit(limit))
    if trainee:
        query = query.where(Trainee.name == trainee.strip())
    if status:
        query = query.where(review_status == status)
    if verdict:
        query = query.where(PracticeSession.verdict == verdict)
    with store.session() as db:
        for s, name, st, reason, pct in db.execute(query):
            yield {"id": s.id, "started_at": s.started_at.isoformat() if s.started_at else None, "trainee": name,
                   "scenario": s.scenario_title, "source": s.source, "session_status": s.status,
                   "turns": s.turn_count, "duration_s": s.duration_s, "verdict": s.verdict,
                   "interruptions": s.interruption_count, "comments": s.comment_count,
                   "review": st, "dispute_reason": reason, "score_pct": pct}


@sessions.command("list")
@click.option("--trainee", default=None, help="Only this trainee's sessions.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only sessions with this review status.")
@click.option("--verdict", type=click.Choice(("aggressive", "passive", "assertive")), default=None,
              help="Only sessions whose majority verdict is this.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per session.")
@data_dir_option
@domain_errors
def list_cmd(trainee, status, verdict, limit, as_json, data_dir):
    """List sessions, newest first: date, trainee, scenario, turns, length, verdict, review status, score."""
    from voicerehearse.settings import load_settings
    from voicerehearse.store import Store

    settings = load_settings()
    store = Store.open(data_dir, settings=settings)
    rows = list(_rows(store, trainee, status, verdict, limit))
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo("No sessions.")
        return
    click.echo("id\tdate\ttrainee\tscenario\tturns\tlength\tverdict\treview\tscore\tcomments")
    for r in rows:
        length = f"{r['duration_s']:.0f} s" if r["duration_s"] is not None else "–"
        score = f"{r['score_pct']:.0f} %" if r["score_pct"] is not None else "–"
        review = r["review"] + (" (stopped early)" if r["session_status"] == "stopped" else "")
        click.echo(f"{r['id']}\t{(r['started_at'] or '')[:16].replace('T', ' ')}\t{r['trainee']}\t{r['scenario']}\t"
                   f"{r['turns'] if r['turns'] is not None else '–'}\t{length}\t{r['verdict'] or '–'}\t{review}\t"
                   f"{score}\t{r['comments'] or 0}")
