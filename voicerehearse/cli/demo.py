"""``voicerehearse demo``: the whole analysis on bundled synthetic takes; needs no microphone and no model."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from voicerehearse.cli.common import domain_errors


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON Lines (the analyze schema) instead of the summary.")
@click.option("--brief", is_flag=True, help="Only the closing table, not every take's details.")
@click.option("--serve/--no-serve", "serve_report", default=None,
              help="After the summary, store the takes as demo sessions and serve the coach report "
                   "(default: yes when run in a terminal).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Demo data directory (default: <user data dir>/demo). Given with --no-serve, the sessions "
                   "are stored there without serving.")
@click.option("--port", default=8321, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the coach report (on 127.0.0.1).")
@domain_errors
def demo(as_json, brief, serve_report, data_dir, port):
    """Analyse the bundled demo takes: three delivery styles on two scenarios.

    Each take is a synthetic rehearsal turn: the customer's line played through speakers (so it bleeds
    into the mic), then the trainee's reply. The reply is judged against the trainee's own calibration read.
    """
    from rich.console import Console
    from rich.table import Table

    from voicerehearse.cli.render import STYLE_COLOURS, print_analysis
    from voicerehearse.demo import NOTE, load_takes
    from voicerehearse.pipeline import analyze_file, measure_baseline
    from voicerehearse.schema import analysis_record
    from voicerehearse.settings import load_settings
    from voicerehearse.transcribe.files import read_transcript

    settings = load_settings()
    if data_dir is not None and not as_json:  # before the analysis: refuse at once
        refuse_foreign_store(data_dir)
    console = Console()
    if not as_json:
        console.print(f"[bold]VoiceRehearse demo[/] — {NOTE}\n")
    baselines = {}
    summary = Table(title="Demo takes: intended style vs verdict")
    for col in ("trainee", "scenario", "intended", "verdict", "latency", "barge-ins", "main reason"):
        summary.add_column(col, no_wrap=col != "main reason", min_width=12 if col == "main reason" else None)
    analysed = []
    for take in load_takes():
        if take.baseline not in baselines:
            baselines[take.baseline] = measure_baseline(take.baseline, settings)
        a = analyze_file(take.take, settings=settings, baseline=baselines[take.baseline],
                         transcript=read_transcript(take.transcript), prompt_path=take.prompt,
                         prompt_start_s=take.prompt_playback_start_s)
        analysed.append((take, analysis_record(a)))
        if as_json:
            click.echo(json.dumps(analysed[-1][1]))
            continue
        if not brief:
            console.print(f"[bold]{take.scenario_title}[/] · {take.trainee} · customer: “{take.customer_text}”")
            print_analysis(console, a)
        v = a.delivery
        colour = STYLE_COLOURS.get(v.label, "white")
        good = [f.kind for f in a.flags if f.severity == "info"]
        main_reason = v.reasons[0].cue if v.reasons else (good[0] if good else "–")
        summary.add_row(take.trainee, take.scenario, take.intended_style, f"[{colour}]{v.label}[/]",
                        f"{a.turn.response_latency_s:+.2f} s" if a.turn.response_latency_s is not None else "–",
                        str(len(a.turn.interruptions)), main_reason)
    if not as_json:
        console.print(summary)
        console.print("Try your own recording: voicerehearse analyze REPLY.wav --baseline CALM_READ.wav "
                      "[--prompt CUSTOMER.wav --prompt-start SECONDS]")
    if as_json:
        return
    if serve_report is None:
        serve_report = sys.stdin.isatty() and sys.stdout.isatty()
    if not serve_report and data_dir is None:
        console.print("Coach report: run `voicerehearse demo --serve` to store these takes as demo sessions and "
                      "replay them in the browser.")
        return
    store = store_demo_sessions(analysed, data_dir, settings)
    console.print(f"\nStored {len(analysed)} demo sessions in {store.data_dir}")
    console.print(f"Log in as [bold]{DEMO_USER}[/] with password [bold]{DEMO_PASSWORD}[/] (demo database only).")
    if serve_report:
        from voicerehearse.cli.serve import run_server
        from voicerehearse.web import create_app

        run_server(create_app({"DATA_DIR": str(store.data_dir)}), "127.0.0.1", port, echo=console.print)


DEMO_USER = "coach"
DEMO_PASSWORD = "demo-coach-pw"  # published: only ever set in a directory the demo created (see MARKER)
DEMO_CALLER = "demo script"  # whose "call" a demo turn carries: the style its take was scripted to show
MARKER = ".voicerehearse-demo"  # written by the demo into the data directory it creates
STORE_FILES = ("voicerehearse.db", "secret_key", "audio")  # signs of a store (SQLite database, server key, recordings)


def _claim_demo_dir(data_dir: Path, default: bool) -> None:
    """Make sure ``data_dir`` is the demo's own: new or empty (then marked), or marked by an earlier demo.
    A directory holding a store the demo did not create is refused: the demo plants a login with a published
    password. ``default``: the demo's own default folder, whose stores from before the marker are recognised
    by holding only the demo login and demo sessions."""
    from voicerehearse.errors import ConfigError

    marker = data_dir / MARKER
    if marker.is_file():
        return
    refuse_foreign_store(data_dir, default)
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        marker.write_text("Created by `voicerehearse demo`: demo sessions and a demo login only.\n")
    except OSError as exc:
        raise ConfigError(f"cannot use data directory {data_dir}: {exc.strerror}") from None


def refuse_foreign_store(data_dir: Path, default: bool = False) -> None:
    """ConfigError when ``data_dir`` holds a store that the demo did not create."""
    from voicerehearse.errors import ConfigError

    if (data_dir / MARKER).is_file() or not any((data_dir / name).exists() for name in STORE_FILES):
        return
    if not (default and _only_demo_content(data_dir)):
        raise ConfigError(f"{data_dir} holds a store the demo did not create; the demo adds a login with a "
                          "published password, so give it a new or empty --data-dir")


def _only_demo_content(data_dir: Path) -> bool:
    import sqlite3

    db = data_dir / "voicerehearse.db"
    if not db.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            users = {row[0] for row in conn.execute("SELECT username FROM users")}
            sources = {row[0] for row in conn.execute("SELECT DISTINCT source FROM sessions")}
    except sqlite3.Error:
        return False
    return users <= {DEMO_USER} and sources <= {"demo"}


def _store_demo_reads(store, reads: dict, settings) -> dict:
    """Store each demo trainee's calibration read (``reads``: bundled file -> trainee name) as their baseline,
    replacing the reads an earlier demo stored; returns file -> stored id. The takes were judged against them."""
    import shutil

    from sqlalchemy import select

    from voicerehearse.pipeline import measure_baseline
    from voicerehearse.settings import DEFAULTS
    from voicerehearse.store import BaselineRecord, get_or_create_trainee

    ids = {}
    with store.session() as db:
        for old in db.scalars(select(BaselineRecord).where(BaselineRecord.audio_path.like("audio/demo-reads/%"))):
            db.delete(old)
        for path, name in reads.items():
            kept = store.audio_dir("demo-reads") / Path(path).name
            shutil.copyfile(path, kept)
            record = BaselineRecord(trainee_id=get_or_create_trainee(db, name).id, audio_path=store.relative(kept),
                                    measures=BaselineRecord.measures_of(measure_baseline(kept, settings or DEFAULTS)))
            db.add(record)
            db.flush()
            ids[path] = record.id
        db.commit()
    return ids


def store_demo_sessions(analysed, data_dir: Path | None = None, settings=None):
    """Replace the demo sessions in the demo data directory with ``analysed`` ((DemoTake, record) pairs):
    one session per take, a day apart, and a ``coach`` login. Returns the Store. ``settings``: the demo's
    (what the replay's derived data is measured with; the defaults when not given)."""
    import tomllib

    from sqlalchemy import select
    from werkzeug.security import check_password_hash

    from voicerehearse.accounts import add_user, set_password
    from voicerehearse.demo import DEMO_DIR
    from voicerehearse.sessions import add_session
    from voicerehearse.store import PracticeSession, Store, User, default_data_dir

    manifest = tomllib.loads((DEMO_DIR / "takes.toml").read_text(encoding="utf-8"))
    names = {t["id"]: t["name"] for t in manifest.get("trainee", [])}
    folder = Path(data_dir) if data_dir else default_data_dir() / "demo"
    _claim_demo_dir(folder, default=data_dir is None)
    store = Store.open(folder)
    with store.session() as db:
        for old in db.scalars(select(PracticeSession).where(PracticeSession.source == "demo")):
            db.delete(old)
        user = db.scalar(select(User).where(User.username == DEMO_USER))
        if user is not None and not check_password_hash(user.password_hash, DEMO_PASSWORD):  # an older demo's
            set_password(db, DEMO_USER, DEMO_PASSWORD)
        elif user is None:
            add_user(db, DEMO_USER, DEMO_PASSWORD)
        db.commit()
    reads = _store_demo_reads(store, {take.baseline: names.get(take.trainee, take.trainee.title())
                                      for take, _ in analysed}, settings)
    # a little story for the progress page: each trainee goes from passive to aggressive to assertive
    rank = {"passive": 0, "aggressive": 1, "assertive": 2}
    ordered = sorted(analysed, key=lambda pair: (rank.get(pair[0].intended_style, 3), pair[0].scenario))
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=len(ordered))
    for n, (take, record) in enumerate(ordered):
        sid = add_session(store, trainee=names.get(take.trainee, take.trainee.title()), scenario_id=take.scenario,
                          scenario_title=take.scenario_title, source="demo", started_at=start + timedelta(days=n),
                          note="Synthetic demo take (espeak-ng voice), not a real trainee.",
                          turns=[{"audio": take.take, "record": record, "customer_text": take.customer_text,
                                  "prompt_start_s": take.prompt_playback_start_s}],
                          baseline_id=reads[take.baseline], **({"settings": settings} if settings else {}))
        with store.session() as db:  # the style each take was scripted to show stands in for a coach's call
            for turn in db.get(PracticeSession, sid).turns:
                turn.coach_label, turn.coach_label_by = take.intended_style, DEMO_CALLER
                turn.coach_label_at = datetime.now(timezone.utc)
            db.commit()
    return store
