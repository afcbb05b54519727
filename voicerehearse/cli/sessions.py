"""``voicerehearse sessions list``: the stored sessions with their review status and figures, newest first.

Reads only the session rows (their stored summaries), the review status and the latest scorecard score, so it
stays quick on a long history.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from voicerehearse.cli.common import domain_errors
from voicerehearse.labels import REVIEW_STATUSES, STYLES

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Data directory (database + audio). Default: $VOICEREHEARSE_DATA_DIR or the user data directory.",
)


@click.group()
def sessions() -> None:
    """Stored practice sessions and imported calls."""


def _rows(store, found, limit):
    from voicerehearse.session_list import session_query

    with store.session() as db:
        for s, name, st, reason, pct, scorers in db.execute(session_query(found).limit(limit)):
            yield {"id": s.id, "started_at": s.started_at.isoformat() if s.started_at else None, "trainee": name,
                   "scenario": s.scenario_title, "source": s.source, "session_status": s.status,
                   "turns": s.turn_count, "duration_s": s.duration_s, "verdict": s.verdict,
                   "interruptions": s.interruption_count, "comments": s.comment_count,
                   "review": st, "dispute_reason": reason, "score_pct": pct, "scored_by": scorers}


@sessions.command("list")
@click.option("--trainee", default=None, help="Only this trainee's sessions.")
@click.option("--status", type=click.Choice(REVIEW_STATUSES), default=None, help="Only sessions with this review status.")
@click.option("--verdict", type=click.Choice(STYLES), default=None,
              help="Only sessions whose majority verdict is this.")
@click.option("--scenario", default=None, help="Only this scenario (its id, or a part of its title).")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only sessions from this day on (UTC).")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Only sessions up to this day (UTC), included.")
@click.option("--min-score", default=None, metavar="PCT", help="Only sessions scored at least this (mean of coaches).")
@click.option("--max-score", default=None, metavar="PCT", help="Only sessions scored at most this.")
@click.option("--search", default=None, metavar="TEXT", help="Only sessions whose title, note or trainee has TEXT.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per session.")
@data_dir_option
@domain_errors
def list_cmd(trainee, status, verdict, scenario, since, until, min_score, max_score, search, limit, as_json,
             data_dir):
    """List sessions, newest first: date, trainee, scenario, turns, length, verdict, review status, score."""
    from voicerehearse.session_list import SessionFilter
    from voicerehearse.settings import load_settings
    from voicerehearse.store import Store

    settings = load_settings()
    store = Store.open(data_dir, settings=settings)
    found = SessionFilter.parse({"trainee": trainee, "status": status, "verdict": verdict, "scenario": scenario,
                                 "since": since, "until": until, "min_score": min_score, "max_score": max_score,
                                 "q": search})
    rows = list(_rows(store, found, limit))
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
