"""Background jobs in the store's own database (SQLite or PostgreSQL): no extra server, safe with several workers.

Jobs are rows of the store's ``jobs`` table (migration 0004). A job is claimed with a lease (``job_lease_s``); a worker renews it while it works and marks the job done or
failed. A worker that dies lets its lease run out and the next worker takes the job again (up to
``job_max_attempts``), so a job is never lost. A claim or a completion only counts while the worker still holds
the lease, and handlers are idempotent (an import looks for the session its job already stored), so a job is
never done twice.

>>> import tempfile
>>> from voicerehearse.store import Store
>>> store = Store.open(tempfile.mkdtemp())
>>> job_id = enqueue(store, "noop", {})
>>> job = claim(store, "w1", lease_s=30)
>>> (job.id, job.kind, job.attempts) == (job_id, "noop", 1), claim(store, "w2", lease_s=30)
(True, None)
>>> complete(store, job, {"ok": True}), status(store, job_id).status
(True, 'done')
"""

from __future__ import annotations

import json
import os
import threading
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update

from voicerehearse.errors import VoiceRehearseError
from voicerehearse.store import JobRow

STATUSES = ("queued", "running", "done", "failed")


class JobError(VoiceRehearseError):
    """A job cannot be queued or run (unknown kind, bad payload)."""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict
    status: str
    attempts: int
    worker: str | None
    progress: float
    error: str | None
    result: dict | None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(t: datetime | None) -> datetime | None:
    return t if t is None or t.tzinfo else t.replace(tzinfo=timezone.utc)  # SQLite returns naive times


def _job(row: JobRow) -> Job:
    return Job(row.id, row.kind, json.loads(row.payload), row.status, row.attempts, row.worker, row.progress,
               row.error, json.loads(row.result) if row.result else None)


def enqueue(store, kind: str, payload: dict, *, max_attempts: int = 3) -> int:
    """Queue a job; returns its id. ``kind`` must be a key of :data:`HANDLERS` (or a test's own)."""
    try:
        text = json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise JobError(f"job payload is not JSON: {exc}") from None
    with store.session() as db:
        row = JobRow(kind=kind, payload=text, status="queued", attempts=0, max_attempts=max_attempts,
                     progress=0.0, created_at=_now(), updated_at=_now())
        db.add(row)
        db.commit()
        return row.id


def status(store, job_id: int) -> Job | None:
    with store.session() as db:
        row = db.get(JobRow, job_id)
        return None if row is None else _job(row)


def claim(store, worker: str, *, lease_s: float) -> Job | None:
    """The oldest job that is queued or whose lease ran out, now leased to ``worker``; None when there is none.
    Two workers never get the same job: the update only succeeds while the job is still free."""
    with store.session() as db:
        for _ in range(20):
            now = _now()
            free = or_(JobRow.status == "queued", (JobRow.status == "running") & (JobRow.lease_until < now))
            candidate = db.scalar(select(JobRow.id).where(free).order_by(JobRow.id).limit(1))
            if candidate is None:
                return None
            taken = db.execute(update(JobRow).where(JobRow.id == candidate, free).values(
                status="running", worker=worker, lease_until=now + timedelta(seconds=lease_s),
                attempts=JobRow.attempts + 1, updated_at=now))
            db.commit()
            if taken.rowcount == 1:
                row = db.get(JobRow, candidate)
                db.refresh(row)
                if row.attempts > row.max_attempts:  # it has killed its workers too often: give up on it
                    _finish(db, row.id, worker, "failed", error=f"gave up after {row.max_attempts} attempts")
                    continue
                return _job(row)
        return None


def _finish(db, job_id: int, worker: str, state: str, *, error: str | None = None, result: dict | None = None,
            requeue: bool = False) -> bool:
    values = {"status": "queued" if requeue else state, "error": error, "updated_at": _now(), "lease_until": None}
    if result is not None:
        values["result"] = json.dumps(result)
    if state == "done":
        values["progress"] = 1.0
    done = db.execute(update(JobRow).where(JobRow.id == job_id, JobRow.worker == worker,
                                           JobRow.status == "running").values(**values))
    db.commit()
    return done.rowcount == 1


def heartbeat(store, job: Job, *, lease_s: float, progress: float | None = None) -> bool:
    """Renew the lease (and record progress 0-1); False when the job was taken over meanwhile."""
    with store.session() as db:
        values = {"lease_until": _now() + timedelta(seconds=lease_s), "updated_at": _now()}
        if progress is not None:
            values["progress"] = max(0.0, min(1.0, float(progress)))
        done = db.execute(update(JobRow).where(JobRow.id == job.id, JobRow.worker == job.worker,
                                               JobRow.status == "running").values(**values))
        db.commit()
        return done.rowcount == 1


def complete(store, job: Job, result: dict | None = None) -> bool:
    with store.session() as db:
        return _finish(db, job.id, job.worker, "done", result=result or {})


def fail(store, job: Job, error: str, *, retry: bool = False) -> bool:
    """Mark the job failed with ``error`` (one line for the page), or queue it again when ``retry`` and attempts
    remain."""
    with store.session() as db:
        row = db.get(JobRow, job.id)
        again = retry and row is not None and row.attempts < row.max_attempts
        return _finish(db, job.id, job.worker, "failed", error=error, requeue=again)


# --------------------------------------------------------------------------- handlers


def run_import(store, settings, payload: dict, progress: Callable[[float], None]) -> dict:
    """Import one uploaded call through :func:`voicerehearse.importing.import_call` (analysis, words, redaction,
    storage) — once, even when a previous attempt died after storing it. Payload: ``audio`` (the upload in the
    store's upload folder, removed once stored), ``trainee``, optional ``title``, ``display_name``, ``stereo``
    ("agent=0,customer=1"), ``engine`` ("auto" / "none"), ``baseline`` and ``note``."""
    from voicerehearse.importing import import_call
    from voicerehearse.pipeline import StereoLayout
    from voicerehearse.store import PracticeSession

    tag = f"[job {payload['job_key']}]"
    with store.session() as db:
        found = db.scalar(select(PracticeSession.id).where(PracticeSession.note.like(f"%{tag}")))
    if found is not None:
        Path(payload["audio"]).unlink(missing_ok=True)
        return {"session_id": found, "again": True}
    progress(0.05)
    engine = None
    if payload.get("engine", "auto") != "none":
        from voicerehearse.transcribe.engine import choose_engine

        engine = choose_engine(payload.get("engine", "auto"), settings=settings)
    name = payload.get("display_name") or Path(payload["audio"]).name
    result = import_call(store, payload["audio"], trainee=payload["trainee"], title=payload.get("title"),
                         display_name=name, settings=settings, engine=engine,
                         stereo=StereoLayout.parse(payload["stereo"]) if payload.get("stereo") else None,
                         baseline=payload.get("baseline", "latest"),
                         note=f"{payload.get('note') or 'Imported from ' + name} {tag}")
    Path(payload["audio"]).unlink(missing_ok=True)
    return {"session_id": result.session_id, "label": result.label}


HANDLERS: dict[str, Callable[..., dict]] = {
    "import": run_import,
    "noop": lambda store, settings, payload, progress: {},
}


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_one(store, settings, *, worker: str | None = None, handlers: dict | None = None) -> Job | None:
    """Claim one job and run it to done or failed; returns it (None when the queue is empty). Domain errors fail
    the job with their one-line message; anything else fails it too and is retried while attempts remain."""
    handlers = handlers if handlers is not None else HANDLERS
    worker = worker or worker_id()
    job = claim(store, worker, lease_s=settings.job_lease_s)
    if job is None:
        return None
    handler = handlers.get(job.kind)
    if handler is None:
        fail(store, job, f"unknown job kind {job.kind!r}")
        return status(store, job.id)
    last = [time.monotonic()]

    def progress(share: float) -> None:
        if time.monotonic() - last[0] > 0.5 or share >= 1.0:
            heartbeat(store, job, lease_s=settings.job_lease_s, progress=share)
            last[0] = time.monotonic()

    try:
        result = handler(store, settings, {**job.payload, "job_key": job.id}, progress)
    except VoiceRehearseError as exc:
        fail(store, job, str(exc))
    except Exception as exc:  # noqa: BLE001 — a bug in one job must not stop the worker; retried
        fail(store, job, f"{type(exc).__name__}: {exc}", retry=True)
    else:
        complete(store, job, result)
    return status(store, job.id)


def unfinished(store) -> int:
    """Jobs queued or running (a running one may belong to a worker that died and wait for its lease to end)."""
    from sqlalchemy import func

    with store.session() as db:
        return db.scalar(select(func.count()).select_from(JobRow).where(JobRow.status.in_(("queued", "running"))))


def run_worker(store, settings, *, once: bool = False, stop: Callable[[], bool] = lambda: False,
               on_job: Callable[[Job], None] | None = None) -> int:
    """Run jobs until ``stop()`` says so, or with ``once`` until none is queued or running (a dead worker's job
    is waited for until its lease ends, then taken over); returns how many ran here."""
    ran = 0
    while not stop():
        job = run_one(store, settings)
        if job is None:
            if once and not unfinished(store):
                break
            time.sleep(settings.job_poll_s)
            continue
        ran += 1
        if on_job is not None:
            on_job(job)
    return ran


def describe(job: Job | None) -> dict[str, Any]:
    """The JSON the web page polls: status, progress, error, and the stored session when done."""
    if job is None:
        return {"status": "unknown"}
    out = {"id": job.id, "status": job.status, "progress": round(job.progress, 2), "attempts": job.attempts}
    if job.error:
        out["error"] = job.error
    if job.result and "session_id" in job.result:
        out["session_id"] = job.result["session_id"]
    return out


def start_embedded(store, settings, *, threads: int = 1) -> threading.Event:
    """Worker threads inside this process (the coach server's default: no extra server to run). Returns the event
    that stops them."""
    stop = threading.Event()
    for n in range(threads):
        threading.Thread(target=run_worker, args=(store, settings), kwargs={"stop": stop.is_set},
                         name=f"voicerehearse-jobs-{n}", daemon=True).start()
    return stop
