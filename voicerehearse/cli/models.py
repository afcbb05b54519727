"""`voicerehearse models list | fetch NAME | verify PATH | path`: the Vosk models VoiceRehearse knows and uses."""

from __future__ import annotations

from pathlib import Path

import click

from voicerehearse.cli.common import domain_errors, lazy

model_store = lazy("voicerehearse.transcribe.models")  # the HTTP/SSL stack: imported when a command runs
load_settings = lazy("voicerehearse.settings", "load_settings")


USES = {"live": "live practice takes", "calls": "imported call recordings (8 kHz telephone audio included)",
        "tests": "the test suite"}


@click.group("models")
def models() -> None:
    """List, fetch and check Vosk speech-recognition models."""


@models.command("list")
@domain_errors
def list_models() -> None:
    """Known models, and where each is installed."""
    for info in model_store.load_manifest().values():
        where = model_store.installed_path(info)
        how = f"pip install {info.pip}" if info.pip else f"voicerehearse models fetch {info.name}"
        size = f", {info.size_mb:.0f} MB" if info.size_mb else ""
        use = f", for {USES.get(info.use, info.use)}" if info.use else ""
        click.echo(f"{info.name} ({info.language}{size}{use})")
        click.echo(f"  installed: {where}" if where else f"  not installed; get it with: {how}")
        if info.note:
            click.echo(f"  {info.note}")


@models.command("fetch")
@click.argument("name")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to install into (default: audio_models/ or the user data dir).",
)
@click.option("--url", help="Download from this URL instead of the manifest's.")
@click.option("--sha256", help="Expected sha256 of the zip (overrides the manifest).")
@domain_errors
def fetch(name: str, dest: Path | None, url: str | None, sha256: str | None) -> None:
    """Download model NAME (see `models list`), verify it and unpack it."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(name, total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        path = model_store.fetch(name, dest, url=url, sha256=sha256, progress=advance)
    click.echo(f"{name} is ready in {path}")


@models.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@domain_errors
def verify(path: Path) -> None:
    """Check that PATH is a complete Vosk model folder."""
    check = model_store.verify_model(path)
    click.echo(f"OK: {check.path} ({check.graph} graph, {check.sample_rate_hz} Hz)")


@models.command("path")
@domain_errors
def path() -> None:
    """Where models are looked for, in order, and the model that would be used now."""
    resolved = model_store.resolve_model(settings=load_settings())
    click.echo("Resolution order:")
    click.echo("  1. --model PATH")
    click.echo(f"  2. ${model_store.MODEL_ENV}")
    click.echo("  3. setting vosk_model (config file)")
    for i, folder in enumerate(model_store.search_dirs(), start=4):
        click.echo(f"  {i}. first complete model folder in {folder}")
    if resolved is None:
        click.echo("Model in use: none (transcripts fall back to PocketSphinx, a rough English transcript)")
    else:
        click.echo(f"Model in use: {resolved.path} (from {resolved.source})")
