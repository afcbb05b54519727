"""``voicerehearse serve``, ``users``, ``report`` and ``import``: the coach's web report from the command line.

Registered by voicerehearse/cli/__init__.py; each command takes ``--data-dir`` (default: the user data
directory, or $VOICEREHEARSE_DATA_DIR).
"""

from __future__ import annotations

from pathlib import Path

import click

from voicerehearse.cli.common import domain_errors
from voicerehearse.report_formats import WRITERS
from voicerehearse.transcribe.names import engine_choices

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Data directory (database + audio). Default: $VOICEREHEARSE_DATA_DIR or the user data directory.",
)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _settings():
    from voicerehearse.settings import load_settings

    return load_settings()


def _store(data_dir, settings=None):
    """The store every command uses: ``--data-dir``, else the settings' ``data_dir``; their ``database_url``."""
    from voicerehearse.store import Store

    return Store.open(data_dir, settings=settings if settings is not None else _settings())


def run_server(app, host: str, port: int, debug: bool = False, echo=click.echo) -> None:
    """Serve ``app``: waitress, or the Flask development server with ``debug``. Blocks until stopped.
    A port in use or an unknown host is one line (click.ClickException), printed before any URL."""
    from voicerehearse.web import vendor_assets_present

    url = f"http://{'localhost' if host in ('127.0.0.1', 'localhost') else host}:{port}/"
    server = None
    if not debug:
        from waitress import create_server

        try:  # bind first: the URL is printed only once it is really served
            server = create_server(app, host=host, port=port, threads=8, ident="voicerehearse")
        except (OSError, ValueError) as exc:  # waitress: ValueError for a host it cannot resolve
            raise click.ClickException(f"cannot listen on {host}:{port}: {_reason(exc)}") from None
    if not vendor_assets_present():
        echo("note: the waveform player (wavesurfer.js) is not installed — the report falls back to a plain audio "
             "player. Run `bash scripts/setup.sh` on a machine with npm to build it.")
    if host not in LOOPBACK:
        echo(f"warning: listening on {host}: anyone who can reach this machine can try to log in.")
    echo(f"Coach report on {url}  (Ctrl+C to stop)")
    if server is None:
        try:
            app.run(host=host, port=port, debug=True, use_reloader=False)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {_reason(exc)}") from None
    else:
        try:
            server.run()
        finally:
            server.close()


def _reason(exc: Exception) -> str:
    import errno
    import socket

    if isinstance(exc, (socket.gaierror, ValueError)):
        return "unknown host name or address"
    if exc.errno == errno.EADDRINUSE:
        return "the port is already in use (is another server running? choose one with --port)"
    return getattr(exc, "strerror", None) or str(exc)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (local only by default).")
@click.option("--port", default=8321, show_default=True, type=click.IntRange(0, 65535))
@click.option("--secure-cookies/--no-secure-cookies", default=None,
              help="Send the login cookie over HTTPS only (default: on with a --host other than this machine; "
                   "put the server behind an HTTPS proxy then).")
@click.option("--debug", is_flag=True, help="Flask development server with the debugger (never on a shared machine).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(0, 64),
              help="Job threads in this server that analyse uploaded calls; 0: run `voicerehearse worker` "
                   "processes instead (on this or other machines sharing the database).")
@data_dir_option
@domain_errors
def serve(host, port, secure_cookies, debug, workers, data_dir):
    """Serve the coach's web report: trainees, session replay, comments, progress, imports, exports."""
    from sqlalchemy import func, select

    from voicerehearse.store import User, default_data_dir
    from voicerehearse.web import create_app

    settings = _settings()
    if secure_cookies is None:
        secure_cookies = host not in LOOPBACK
    app = create_app({"SETTINGS": settings, "DATA_DIR": str(data_dir or default_data_dir(settings)),
                      "DATABASE_URL": settings.database_url, "AUDIO_DIR": settings.audio_dir,
                      "SESSION_COOKIE_SECURE": secure_cookies, "BACKGROUND_IMPORTS": True,
                      "EMBEDDED_WORKERS": workers})
    store = app.extensions["voicerehearse.store"]
    with store.session() as db:
        if not db.scalar(select(func.count(User.id))):
            click.echo(f"note: no users yet — add a coach first: voicerehearse users add NAME"
                       f"{' --data-dir ' + str(data_dir) if data_dir else ''}")
    click.echo(f"Data directory: {store.data_dir}")
    if secure_cookies and host not in LOOPBACK:
        click.echo("note: login cookies are sent over HTTPS only: reach the report through an HTTPS proxy, "
                   "or pass --no-secure-cookies on a trusted network.")
    run_server(app, host, port, debug)


@click.group()
def users():
    """Logins for the web report: coaches see every trainee, a trainee login only their own sessions."""


password_option = click.option("--password", default=None,
                               help="For scripts; otherwise you are asked (hidden, twice).")


def _new_password(password):
    return password if password is not None else click.prompt("Password", hide_input=True,
                                                              confirmation_prompt=True)


@users.command("add")
@click.argument("name")
@click.option("--trainee", "trainee_name", default=None, metavar="NAME",
              help="Make a trainee login that sees only this trainee's sessions (created if new).")
@password_option
@data_dir_option
@domain_errors
def users_add(name, trainee_name, password, data_dir):
    """Add a login NAME (a coach unless --trainee is given)."""
    from voicerehearse.accounts import add_user
    from voicerehearse.store import get_or_create_trainee

    settings = _settings()
    password = _new_password(password)
    store = _store(data_dir, settings)
    with store.session() as db:
        trainee = get_or_create_trainee(db, trainee_name) if trainee_name else None
        user = add_user(db, name, password, trainee, min_length=settings.min_password_length)
        db.commit()
        role = f"trainee login for {trainee.name}" if trainee else "coach"
        click.echo(f"Added {user.username} ({role}) in {store.data_dir}")


@users.command("passwd")
@click.argument("name")
@password_option
@data_dir_option
@domain_errors
def users_passwd(name, password, data_dir):
    """Change the password of login NAME; it is logged out everywhere."""
    from voicerehearse.accounts import get_user, set_password

    settings = _settings()
    store = _store(data_dir, settings)
    with store.session() as db:
        get_user(db, name)  # an unknown name fails before asking for a password
        user = set_password(db, name, _new_password(password), min_length=settings.min_password_length)
        db.commit()
        click.echo(f"Changed the password of {user.username}; their open sessions are logged out.")


@users.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
@domain_errors
def users_remove(name, yes, data_dir):
    """Remove login NAME (their comments stay, without an author)."""
    from voicerehearse.accounts import get_user, remove_user

    store = _store(data_dir)
    with store.session() as db:
        get_user(db, name)
        if not yes:
            click.confirm(f"Remove login {name.strip()!r}?", abort=True)
        user = remove_user(db, name)
        db.commit()
        click.echo(f"Removed {user.username}")


@users.command("list")
@data_dir_option
@domain_errors
def users_list(data_dir):
    """List the logins: name, role, and the trainee a trainee login sees."""
    from voicerehearse.accounts import list_users

    store = _store(data_dir)
    with store.session() as db:
        for user, trainee in list_users(db):
            click.echo(f"{user.username}\t{user.role}" + (f"\t{trainee.name}" if trainee else ""))


@click.command()
@click.argument("session_id", metavar="SESSION", type=int)
@click.option("--format", "fmt", type=click.Choice(sorted(WRITERS)), default="html", show_default=True,
              help="pdf needs WeasyPrint installed; it is written to -o only.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output).")
@data_dir_option
@domain_errors
def report(session_id, fmt, output, data_dir):
    """Write the report of stored session SESSION: JSON (analysis schema), WebVTT, self-contained HTML or PDF."""
    from voicerehearse.report import load_report, render

    settings = _settings()
    text = render(load_report(_store(data_dir, settings), session_id, settings=settings), fmt, settings)
    if output is None:
        if isinstance(text, bytes):
            raise click.UsageError("a PDF goes to a file: add -o FILE.pdf")
        click.echo(text, nl=False)
    else:
        try:
            if isinstance(text, bytes):
                output.write_bytes(text)
            else:
                output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
        click.echo(f"Wrote {output}", err=True)


def _queue_import(store, settings, recording: Path, **payload) -> int:
    """Check the file from its header, copy it into the store's upload folder and queue its import job."""
    import os
    import shutil
    import tempfile

    from voicerehearse import jobs
    from voicerehearse.audio.io import probe, shown

    probe(recording, settings)  # a missing, unreadable or out-of-bounds file is one line now, not a failed job
    fd, copy = tempfile.mkstemp(suffix=recording.suffix.lower(), dir=store.audio_dir("uploads"))
    os.close(fd)
    shutil.copyfile(recording, copy)
    return jobs.enqueue(store, "import", {"audio": copy, "display_name": shown(recording.name), **payload})


@click.command("import")
@click.argument("recording", type=click.Path(path_type=Path))  # a missing file or a folder: one line from the loader
@click.option("--trainee", required=True, help="Whose recording this is.")
@click.option("--title", default=None, help="Session title (default: the file name).")
@click.option("--stereo", default=None, metavar="agent=N,customer=M", help="Two-channel call layout.")
@click.option("--engine", type=click.Choice(engine_choices(none=True)), default="auto",
              show_default=True, help="Speech recogniser for the call's words (each side of a two-channel call "
                                      "on its own); 'none' = acoustic only.")
@click.option("--model", type=click.Path(file_okay=False, path_type=Path), help="Vosk model folder.")
@click.option("--baseline", "baseline_rule", type=click.Choice(("latest", "none")), default="latest",
              show_default=True, help="Judge the voice against the trainee's latest calibration read ('latest', "
                                      "as `analyze --baseline THAT_READ`), or a typical level ('none', as "
                                      "`analyze` without --baseline).")
@click.option("--background", is_flag=True,
              help="Queue the call and return at once; `voicerehearse worker` (or `serve`) analyses and stores it.")
@data_dir_option
@domain_errors
def import_cmd(recording, trainee, title, stereo, engine, model, baseline_rule, background, data_dir):
    """Analyse and transcribe RECORDING and store it as a session for review in the web report.

    The reply is judged against the trainee's latest stored calibration read, when there is one (--baseline).
    A two-channel call (--stereo) is transcribed side by side, agent and customer; a mono call as one stream,
    marked as such. Spoken card, account and phone numbers are masked in the stored transcript and silenced in
    the stored audio (settings redact_*)."""
    from voicerehearse.importing import import_call
    from voicerehearse.pipeline import StereoLayout
    from voicerehearse.transcribe.engine import choose_engine

    settings = _settings()
    store = _store(data_dir, settings)
    layout = StereoLayout.parse(stereo) if stereo else None
    if background:
        job_id = _queue_import(store, settings, recording, trainee=trainee, title=title, stereo=stereo,
                               engine=engine, baseline=baseline_rule)
        click.echo(f"Queued job {job_id}: `voicerehearse worker` (or the server) analyses and stores it")
        return
    recogniser = choose_engine(engine, model, settings=settings) if engine != "none" else None
    result = import_call(store, recording, trainee=trainee, title=title, stereo=layout, engine=recogniser,
                         settings=settings, baseline=baseline_rule)
    click.echo(f"Stored session {result.session_id}: {result.label}")
    compared = "a typical level (no calibration read)" if result.baseline in ("", "absolute defaults") \
        else "the trainee's latest calibration read"
    click.echo(f"  voice compared with {compared}")
    if result.call is not None:
        for side in result.call.sides:
            rough = " (rough)" if side.transcript.note else ""
            click.echo(f"  {side.side}: {len(side.transcript.words)} words, {side.transcript.engine}{rough}")
        if result.call.note:
            click.echo(f"  {result.call.note}")
        if result.numbers_redacted:
            click.echo(f"  {result.numbers_redacted} spoken number(s) masked in the transcript and silenced in "
                       "the stored audio")
