"""Trainees → their sessions → progress over time."""

from __future__ import annotations

from statistics import mean

from flask import Blueprint, render_template

from voicerehearse.delivery import normal_band
from voicerehearse.settings import load_settings
from voicerehearse import charts as plots
from voicerehearse.web.auth import get_trainee_or_404, visible_trainees
from voicerehearse.web.db import get_db

bp = Blueprint("trainees", __name__)


def _mean(values):
    values = [v for v in values if v is not None]
    return mean(values) if values else None


def _majority(labels):
    labels = [l for l in labels if l in plots.STYLE_COLOURS]
    if not labels:
        return None
    # the worst style present wins a tie: aggressive, then passive, then assertive
    return max(("aggressive", "passive", "assertive"), key=lambda s: (labels.count(s), -("aggressive", "passive", "assertive").index(s)))


@bp.get("/")
def index():
    db = get_db()
    rows = []
    for t in visible_trainees(db):
        labels = [turn.label for s in t.sessions for turn in s.turns]
        rows.append({"trainee": t, "sessions": len(t.sessions), "last": t.sessions[-1] if t.sessions else None,
                     "counts": {s: labels.count(s) for s in ("aggressive", "passive", "assertive")}})
    return render_template("index.html", rows=rows)


@bp.get("/trainees/<int:trainee_id>")
def trainee(trainee_id: int):
    t = get_trainee_or_404(trainee_id)
    sessions = sorted(t.sessions, key=lambda s: s.started_at, reverse=True)
    return render_template("trainee.html", trainee=t, sessions=sessions)


def progress_rows(trainee) -> list[dict]:
    rows = []
    for s in trainee.sessions:
        turns = s.turns
        labels = [t.label for t in turns]
        rows.append({
            "session": s,
            "date": s.started_at,
            "labels": labels,
            "verdict": _majority(labels),
            "counts": {k: labels.count(k) for k in ("aggressive", "passive", "assertive")},
            "wpm": _mean([t.words_per_minute for t in turns]),
            "loudness": _mean([t.loudness_delta_db for t in turns]),
            "pitch": _mean([t.pitch_delta_st for t in turns]),
            "latency": _mean([t.response_latency_s for t in turns]),
            "interruptions": sum(1 for t in turns if t.interrupted),
        })
    return rows


@bp.get("/trainees/<int:trainee_id>/progress")
def progress(trainee_id: int):
    t = get_trainee_or_404(trainee_id)
    rows = progress_rows(t)
    st = load_settings()
    pts = lambda key: [(r["date"].strftime("%m-%d"), r[key], r["verdict"]) for r in rows]
    charts = [
        plots.line_chart(pts("wpm"), band=(st.slow_wpm, st.rushed_wpm), unit="wpm", title="Pace (mean per session)"),
        plots.line_chart(pts("loudness"), band=normal_band("loudness", st), unit="dB",
                         title="Loudness vs own baseline", band_note="baseline band"),
        plots.line_chart(pts("pitch"), band=normal_band("pitch", st), unit="st",
                         title="Pitch vs own baseline", band_note="baseline band"),
        plots.line_chart(pts("latency"), band=(0.0, st.long_latency_s), unit="s", title="Reply latency",
                         band_note="prompt, not interrupting"),
    ]
    totals = {k: sum(r["counts"][k] for r in rows) for k in ("aggressive", "passive", "assertive")}
    return render_template("progress.html", trainee=t, rows=rows, charts=charts, totals=totals)
