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
    store = store_demo_sessions(analysed, data_dir)
    console.print(f"\nStored {len(analysed)} demo sessions in {store.data_dir}")
    console.print(f"Log in as [bold]{DEMO_USER}[/] with password [bold]{DEMO_PASSWORD}[/] (demo database only).")
    if serve_report:
        from voicerehearse.cli.serve import run_server
        from voicerehearse.web import create_app

        run_server(create_app({"DATA_DIR": str(store.data_dir)}), "127.0.0.1", port, echo=console.print)


DEMO_USER = "coach"
DEMO_PASSWORD = "demo"


def store_demo_sessions(analysed, data_dir: Path | None = None):
    """Replace the demo sessions in the demo data directory with ``analysed`` ((DemoTake, record) pairs):
    one session per take, a day apart, and a ``coach`` login. Returns the Store."""
    import tomllib

    from sqlalchemy import select

    from voicerehearse.demo import DEMO_DIR
    from voicerehearse.store import PracticeSession, Store, User, default_data_dir
    from voicerehearse.web.auth import add_user
    from voicerehearse.web.ingest import add_session

    manifest = tomllib.loads((DEMO_DIR / "takes.toml").read_text(encoding="utf-8"))
    names = {t["id"]: t["name"] for t in manifest.get("trainee", [])}
    store = Store.open(data_dir or default_data_dir() / "demo")
    with store.session() as db:
        for old in db.scalars(select(PracticeSession).where(PracticeSession.source == "demo")):
            db.delete(old)
        if db.scalar(select(User).where(User.username == DEMO_USER)) is None:
            add_user(db, DEMO_USER, DEMO_PASSWORD)
        db.commit()
    # a little story for the progress page: each trainee goes from passive to aggressive to assertive
    rank = {"passive": 0, "aggressive": 1, "assertive": 2}
    ordered = sorted(analysed, key=lambda pair: (rank.get(pair[0].intended_style, 3), pair[0].scenario))
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=len(ordered))
    for n, (take, record) in enumerate(ordered):
        add_session(store, trainee=names.get(take.trainee, take.trainee.title()), scenario_id=take.scenario,
                    scenario_title=take.scenario_title, source="demo", started_at=start + timedelta(days=n),
                    note="Synthetic demo take (espeak-ng voice), not a real trainee.",
                    turns=[{"audio": take.take, "record": record, "customer_text": take.customer_text,
                            "prompt_start_s": take.prompt_playback_start_s}])
    return store
