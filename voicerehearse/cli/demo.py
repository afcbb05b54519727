"""``voicerehearse demo``: the whole analysis on bundled synthetic takes; needs no microphone and no model."""

from __future__ import annotations

import json

import click

from voicerehearse.cli.common import domain_errors


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON Lines (the analyze schema) instead of the summary.")
@click.option("--brief", is_flag=True, help="Only the closing table, not every take's details.")
@domain_errors
def demo(as_json, brief):
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
    for take in load_takes():
        if take.baseline not in baselines:
            baselines[take.baseline] = measure_baseline(take.baseline, settings)
        a = analyze_file(take.take, settings=settings, baseline=baselines[take.baseline],
                         transcript=read_transcript(take.transcript), prompt_path=take.prompt,
                         prompt_start_s=take.prompt_playback_start_s)
        if as_json:
            click.echo(json.dumps(analysis_record(a)))
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
