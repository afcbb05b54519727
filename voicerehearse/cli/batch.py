"""``voicerehearse batch``: analyse (and transcribe, and store) many recordings on a Dask cluster."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from voicerehearse.cli.common import config_option, domain_errors, set_option
from voicerehearse.transcribe.names import engine_choices

ENGINES = engine_choices(none=True)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with a header row: file (relative to the CSV), trainee, stereo (e.g. agent=0,customer=1), "
                   "title. Its rows follow any PATHS.")
@click.option("--engine", type=click.Choice(ENGINES), default="none", show_default=True,
              help="Speech recogniser for words and language cues ('none' = acoustic only, the fast path; "
                   "'auto' = Vosk when a model is found, else the rough PocketSphinx fallback).")
@click.option("--model", type=click.Path(file_okay=False, path_type=Path),
              help="Vosk model folder (the same path on every worker).")
@click.option("--store/--no-store", default=False, show_default=True,
              help="Also store each recording as a session of its trainee (judged against the trainee's latest "
                   "calibration read), for review in the web report. Needs a trainee per file.")
@click.option("--trainee", help="Trainee of the PATHS (and of manifest rows that leave it blank).")
@click.option("--stereo", metavar="agent=N,customer=M",
              help="Channel layout of the PATHS (and of manifest rows that leave it blank).")
@click.option("--scheduler", metavar="tcp://HOST:8786",
              help="Run on this Dask cluster instead of a local one. Workers need the package installed and the "
                   "audio at the same paths.")
@click.option("--workers", type=click.IntRange(min=0), default=0,
              help="Worker processes of the local cluster, one thread each (default 0 = one per core).")
@click.option("--results", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON Lines here (one object per file, input order) instead of to standard output.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Results cache folder (default: batch-cache in the data directory). A rerun takes every "
                   "finished file from it.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Data directory of the store (default: the data_dir setting, $VOICEREHEARSE_DATA_DIR, or the "
                   "user data folder).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar with files/s and time left on standard error (default: when it is a terminal).")
@config_option
@set_option
@domain_errors
def batch(paths, manifest, engine, model, store, trainee, stereo, scheduler, workers, results, cache_dir, data_dir,
          progress, config, overrides):
    """Analyse many recordings given as PATHS (files, folders, globs) and/or a CSV --manifest.

    Runs on Dask: a local cluster using every core, or an existing one with --scheduler. Results are JSON
    Lines in input order, one per file; a file that cannot be analysed gets a record with "error" set and the
    batch goes on (exit code 1 at the end). Interrupted? Run the same command again: finished files come from
    the cache and nothing is analysed twice.
    """
    from voicerehearse.batch import (Batch, BatchError, BatchItem, ResultCache, baselines_for, dask_client,
                                     default_cache_dir, expand_paths, read_manifest, shown)
    from voicerehearse.pipeline import StereoLayout
    from voicerehearse.settings import load_settings

    settings = load_settings(config, overrides)
    if data_dir is not None:
        settings = _with_data_dir(settings, data_dir)
    layout = StereoLayout.parse(stereo) if stereo else None
    items = [BatchItem(p, trainee, layout) for p in expand_paths(paths)]
    if manifest is not None:
        items += read_manifest(manifest, trainee=trainee, stereo=layout)
    if not items:
        raise click.UsageError("give PATHS or --manifest")
    recogniser = None
    if engine != "none":
        from voicerehearse.transcribe.engine import choose_engine

        recogniser = choose_engine(engine, model, settings=settings)  # resolved here, loaded once per worker
    the_store, baselines = None, {}
    if store:
        missing = [it for it in items if not it.trainee]
        if missing:
            raise BatchError(f"--store needs a trainee for every file: give --trainee or a trainee column "
                             f"({shown(missing[0].path)} has none)")
        from voicerehearse.store import Store

        the_store = Store.open(settings=settings)
        baselines = baselines_for(the_store, (it.trainee for it in items))
    cache = ResultCache(cache_dir or default_cache_dir(settings))
    out = results.open("w", encoding="utf-8") if results is not None else sys.stdout
    counts = {"analysed": 0, "cached": 0, "failed": 0, "errors": 0}
    try:
        with dask_client(scheduler, workers) as client:
            run = Batch(client, settings=settings, engine=recogniser, cache=cache, store=the_store,
                        baselines=baselines)
            with _progress_bar(len(items), progress) as advance:
                for result in run.run(items, on_progress=advance):
                    out.write(json.dumps(result.record) + "\n")  # ASCII escapes: safe for any file name
                    out.flush()
                    counts[result.outcome] += 1
                    counts["errors"] += not result.ok
    finally:
        if out is not sys.stdout:
            out.close()
    click.echo(f"{len(items)} files: {counts['analysed']} analysed, {counts['cached']} from the cache, "
               f"{counts['errors']} with errors" + (f" (results in {shown(results)})" if results else ""), err=True)
    if counts["errors"]:
        sys.exit(1)


def _with_data_dir(settings, data_dir: Path):
    import dataclasses

    return dataclasses.replace(settings, data_dir=os.fspath(data_dir))


class _progress_bar:
    """A rich progress bar (files, files/s, time left) on standard error; a no-op when not wanted."""

    def __init__(self, total: int, wanted: bool | None):
        self.total = total
        self.wanted = sys.stderr.isatty() if wanted is None else wanted
        self.progress = None

    def __enter__(self):
        if not self.wanted:
            return lambda result: None
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.progress = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                                 TextColumn("{task.fields[rate]} files/s"), TimeElapsedColumn(),
                                 TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
        self.progress.start()
        task = self.progress.add_task("batch", total=self.total, rate="-")

        def advance(result):
            self.progress.advance(task)
            speed = self.progress.tasks[0].speed
            self.progress.update(task, rate=f"{speed:.1f}" if speed else "-")

        return advance

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()
        return False
