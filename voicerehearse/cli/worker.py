"""``voicerehearse worker``: run the background jobs (uploaded calls to analyse and store) of a store."""

from __future__ import annotations

from pathlib import Path

import click

from voicerehearse.cli.common import config_option, domain_errors, set_option


@click.command()
@click.option("--once", is_flag=True, help="Run the jobs waiting now, then stop (default: keep waiting for more).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data directory (database + audio). Default: the data_dir setting, $VOICEREHEARSE_DATA_DIR or "
                   "the user data directory.")
@config_option
@set_option
@domain_errors
def worker(once, data_dir, config, overrides):
    """Run queued jobs: each queued call upload is analysed and stored here.

    Run one per core, on the coach server or any machine that reaches the same database and audio folder.
    A worker that dies mid-job lets its lease (job_lease_s) run out and another worker takes the job again;
    nothing is stored twice. Ctrl-C stops after the current job.
    """
    from voicerehearse import jobs
    from voicerehearse.settings import load_settings
    from voicerehearse.store import Store

    settings = load_settings(config, overrides)
    store = Store.open(data_dir, settings=settings)

    def report(job):
        line = f"job {job.id} ({job.kind}): {job.status}"
        if job.error:
            line += f" — {job.error}"
        elif job.result and "session_id" in job.result:
            line += f", session {job.result['session_id']}"
        click.echo(line)

    click.echo(f"worker {jobs.worker_id()} on {store.data_dir}" + (" (until the queue is empty)" if once else ""),
               err=True)
    try:
        ran = jobs.run_worker(store, settings, once=once, on_job=report)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
        raise SystemExit(130) from None
    click.echo(f"{ran} job(s) run", err=True)
