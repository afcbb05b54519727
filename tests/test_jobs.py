"""Background jobs: claimed once, taken over when a worker dies, never lost and never done twice."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import func, select

from synth import SR, place, voice
from voicerehearse import jobs
from voicerehearse.settings import load_settings
from voicerehearse.store import PracticeSession, Store

FAST = load_settings(overrides={"job_lease_s": 2.0, "job_poll_s": 0.05})


def _upload(store, name, seconds=4.0):
    incoming = store.data_dir / "audio" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / f"{name}.wav"
    sf.write(path, place(seconds, (0.3, voice(seconds - 0.6, syllable_hz=4))), SR)
    return str(path)


def _sessions(store):
    with store.session() as db:
        return db.scalar(select(func.count()).select_from(PracticeSession))


def test_two_workers_never_claim_the_same_job(tmp_path):
    store = Store.open(tmp_path)
    ids = [jobs.enqueue(store, "noop", {"n": i}) for i in range(40)]
    got = {"a": [], "b": []}

    def take(name):
        other = Store.open(tmp_path)  # its own connection pool, as another process would have
        while (job := jobs.claim(other, name, lease_s=30)) is not None:
            got[name].append(job.id)

    threads = [threading.Thread(target=take, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got["a"] + got["b"]) == ids  # every job once, none twice


def _expire_leases(store):
    """Let the leases run out now (what the passing of job_lease_s would do), without waiting for it."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from voicerehearse.store import JobRow

    with store.session() as db:
        db.execute(update(JobRow).values(lease_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
        db.commit()


def test_a_dead_workers_job_is_taken_over_after_its_lease_and_stored_once(tmp_path):
    store = Store.open(tmp_path)
    job_id = jobs.enqueue(store, "import", {"audio": _upload(store, "call"), "trainee": "Robin", "title": "Call",
                                            "engine": "none"})
    dead = jobs.claim(store, "worker-that-dies", lease_s=3600)
    # it even got as far as storing the session before it died, without marking the job done
    jobs.run_import(store, FAST, {**dead.payload, "job_key": job_id}, lambda share: None)
    assert _sessions(store) == 1
    assert jobs.run_one(store, FAST, worker="second") is None  # still leased: nobody else may take it
    _expire_leases(store)
    done = jobs.run_one(store, FAST, worker="second")
    assert done.id == job_id and done.status == "done" and done.attempts == 2
    assert _sessions(store) == 1  # found the session the first attempt stored: not imported twice
    assert not jobs.complete(store, dead)  # the dead worker's late word no longer counts


def test_bad_input_fails_the_job_with_one_line_and_the_worker_goes_on(tmp_path):
    store = Store.open(tmp_path)
    junk = store.data_dir / "junk.wav"
    junk.write_bytes(b"not audio")
    bad = jobs.enqueue(store, "import", {"audio": str(junk), "trainee": "Robin"})
    good = jobs.enqueue(store, "import", {"audio": _upload(store, "good"), "trainee": "Robin", "engine": "none"})
    assert jobs.run_worker(store, FAST, once=True) == 2
    failed, done = jobs.status(store, bad), jobs.status(store, good)
    assert failed.status == "failed" and "not a readable audio file" in failed.error and "\n" not in failed.error
    assert done.status == "done" and jobs.describe(done)["session_id"] == done.result["session_id"]


def test_a_killed_worker_process_loses_nothing(tmp_path):
    store = Store.open(tmp_path)
    ids = [jobs.enqueue(store, "import", {"audio": _upload(store, f"c{i}", 8.0), "trainee": f"T{i % 2}",
                                          "engine": "none"})
           for i in range(6)]
    exe = str(Path(sys.executable).with_name("voicerehearse"))
    env = {**os.environ, "VOICEREHEARSE_DATA_DIR": str(tmp_path)}
    args = [exe, "worker", "--set", "job_lease_s=2", "--set", "job_poll_s=0.05"]
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(jobs.status(store, i).status == "done" for i in ids):
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # mid-job or between jobs: either way nothing may be lost
    first.wait()
    second = subprocess.run(args + ["--once"], env=env, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr
    assert all(jobs.status(store, i).status == "done" for i in ids)
    assert _sessions(store) == len(ids)  # each call stored exactly once
    assert "job" in second.stdout


def test_import_in_the_background_queues_a_job_the_worker_stores(tmp_path):
    from click.testing import CliRunner

    from voicerehearse.cli import main

    call = tmp_path / "call.wav"
    sf.write(call, place(4.0, (0.3, voice(3.4, syllable_hz=4))), SR)
    data = tmp_path / "data"
    r = CliRunner().invoke(main, ["import", str(call), "--trainee", "Robin", "--engine", "none", "--background",
                                  "--data-dir", str(data)])
    assert r.exit_code == 0 and "Queued job" in r.output, r.output
    store = Store.open(data)
    assert _sessions(store) == 0 and call.exists()  # nothing stored yet, the caller's file untouched
    r = CliRunner().invoke(main, ["worker", "--once", "--data-dir", str(data)])
    assert r.exit_code == 0, r.output
    assert _sessions(store) == 1
    missing = CliRunner().invoke(main, ["import", str(tmp_path / "nope.wav"), "--trainee", "R", "--background",
                                        "--data-dir", str(data)])
    assert missing.exit_code == 1 and "no such file" in missing.output
