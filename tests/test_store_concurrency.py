"""Many writers at once against one fresh store — threads and processes, SQLite and PostgreSQL: every import
is stored, no exceptions, every recording where its row says, the callers' files untouched."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store_workers import NAMES, import_one, process_main
from voicerehearse.store import PracticeSession, Store, Trainee, Turn, get_or_create_trainee

WORKERS = 10


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """(data_dir, database URL) of a store not yet created (an empty database: the writers race to migrate it)."""
    url = request.getfixturevalue("postgres")() if request.param == "postgresql" else ""
    return str(tmp_path / "data"), url


@pytest.fixture
def sources(tmp_path):
    folder = tmp_path / "calls"
    folder.mkdir()
    paths = []
    for i in range(WORKERS):
        paths.append(folder / f"call-{i}.wav")
        paths[-1].write_bytes(f"recording {i}".encode() * 100)
    return paths


def check_all_stored(data_dir: str, url: str, ids: list, sources: list[Path]) -> None:
    assert sorted(ids) == sorted(set(ids)) and len(ids) == WORKERS
    store = Store.open(data_dir, url=url)
    with store.session() as db:
        assert sorted(db.scalars(select(Trainee.name))) == sorted(NAMES)
        assert db.scalar(select(func.count(PracticeSession.id))) == WORKERS
        for turn in db.scalars(select(Turn)):
            index = int(turn.session.scenario_title.split()[-1])
            assert store.resolve_audio(turn.audio_path).read_bytes() == sources[index].read_bytes()
    assert all(p.is_file() for p in sources)  # copies: the callers keep their files
    assert not any((store.data_dir / "audio" / "incoming").iterdir())  # nothing left half-moved
    store.engine.dispose()


def test_threads_import_at_once_into_a_fresh_store(backend, sources):
    data_dir, url = backend
    barrier = threading.Barrier(WORKERS)
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(import_one, data_dir, url, i, str(src), barrier) for i, src in enumerate(sources)]
        ids = [f.result(timeout=120) for f in futures]  # re-raises any worker's exception
    check_all_stored(data_dir, url, ids, sources)


def test_processes_import_at_once_into_a_fresh_store(backend, sources):
    data_dir, url = backend
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=process_main, args=(data_dir, url, i, str(src), barrier, results))
             for i, src in enumerate(sources)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [error for _, _, error in outcomes if error]
    assert not errors, errors[0]
    check_all_stored(data_dir, url, [sid for _, sid, _ in outcomes], sources)


def test_get_or_create_is_idempotent_across_sessions(backend):
    data_dir, url = backend
    store = Store.open(data_dir, url=url)
    with store.session() as a, store.session() as b:
        first = get_or_create_trainee(a, "Dana")
        a.commit()
        second = get_or_create_trainee(b, "  Dana ")  # the row another session made, not a unique clash
        b.commit()
        assert first.id == second.id
    store.engine.dispose()
