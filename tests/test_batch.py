"""`voicerehearse batch` on a real Dask cluster (processes): order, error records, a killed worker, resuming."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from synth import SR, place, voice
from voicerehearse.batch import (Batch, BatchError, BatchItem, ResultCache, analyse_one, expand_paths,
                                 read_manifest, store_result)
from voicerehearse.pipeline import StereoLayout
from voicerehearse.settings import load_settings

distributed = pytest.importorskip("distributed")

BAD = {"not-audio.wav": "AudioFormatError", "empty.wav": "AudioFormatError", "too-short.wav": "AudioDurationError",
       "missing.wav": "AudioFormatError"}
ODD_NAME = os.fsdecode(b"r\xe9ponse-latin1.wav")  # not valid UTF-8: kept as the OS gives it


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    """20 items: 14 mono voices, 2 two-channel calls (agent left, customer right), 4 bad files, in a mixed order."""
    folder = tmp_path_factory.mktemp("calls")
    good = []
    for i in range(14):
        y = place(6.0 + i % 4, (0.4, voice(4.0 + i % 4, f0=110 + 9 * i, syllable_hz=4, seed=i)))
        name = ODD_NAME if i == 5 else f"reply-{i:02d}.wav"
        path = os.path.join(os.fsdecode(folder), name)
        if name == ODD_NAME:
            _write_odd(path, y)
        else:
            sf.write(path, y, SR)
        good.append(BatchItem(path))
    for i in range(2):
        agent = place(8.0, (0.5, voice(3.0, f0=130, syllable_hz=4, seed=20 + i)))
        customer = place(8.0, (4.0, voice(3.0, f0=210, syllable_hz=4, seed=30 + i)))
        path = str(folder / f"call-{i}.wav")
        sf.write(path, np.stack([agent, customer], axis=1), SR)
        good.append(BatchItem(path, stereo=StereoLayout(0, 1)))
    (folder / "not-audio.wav").write_text("this is not a recording\n")
    (folder / "empty.wav").write_bytes(b"")
    sf.write(str(folder / "too-short.wav"), voice(0.1), SR)
    bad = [BatchItem(str(folder / name)) for name in BAD]
    out = good[:5] + bad[:2] + good[5:11] + bad[2:] + good[11:]
    assert len(out) == 20
    return out


def _write_odd(path: str, y: np.ndarray) -> None:
    with open(os.fsencode(path), "wb") as f:  # soundfile itself cannot open a name that is not UTF-8
        sf.write(f, y, SR, format="WAV")


def _run(client, items, cache, **kw):
    on_progress = kw.pop("on_progress", None)
    batch = Batch(client, settings=load_settings(), cache=cache, **kw)
    return list(batch.run(items, on_progress=on_progress))


def _name(path: str) -> str:
    return os.path.basename(path)


def test_results_in_input_order_with_an_error_record_per_bad_file(client, items, tmp_path):
    cache = ResultCache(tmp_path / "cache")
    results = _run(client, items, cache)
    assert [r.index for r in results] == list(range(len(items)))
    assert [r.record["file"] for r in results] == [it.path for it in items]
    for r in results:
        error = r.record["error"]
        if _name(r.item.path) in BAD:
            assert error["type"] == BAD[_name(r.item.path)], r.record
            assert r.record["delivery"] is None
        else:
            assert error is None, r.record
            assert r.record["delivery"]["label"] in ("assertive", "aggressive", "passive")
            assert (r.record["stereo"] is not None) == (r.item.stereo is not None)
    # what the cluster gives is what the pipeline gives in this process
    for r in (results[0], results[-1]):
        direct, _ = analyse_one(r.item.path, settings=load_settings(), stereo=r.item.stereo)
        assert json.loads(json.dumps(direct)) == r.record
    # the missing file has no content to key; every other result (bad recordings included) is cached
    assert len(cache.keys()) == len(items) - 1
    again = _run(client, items, cache)
    assert [r.outcome for r in again] == ["failed" if _name(r.item.path) == "missing.wav" else "cached" for r in again]
    assert [r.record for r in again] == [r.record for r in results]


class _ClientCrash(Exception):
    pass


def test_worker_killed_mid_batch_then_resumed_analyses_nothing_twice(client, items, tmp_path):
    cache = ResultCache(tmp_path / "cache")
    seen = []
    killed = []

    def chaos(result):
        seen.append(result)
        if len(seen) == 3:  # kill one worker process while the next files are in flight
            pids = client.run(os.getpid)
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
        if len(seen) == 12:  # then the client itself dies
            raise _ClientCrash

    with pytest.raises(_ClientCrash):
        _run(client, items, cache, on_progress=chaos)
    assert killed
    client.wait_for_workers(2, timeout=60)  # the nanny brought a new worker up
    assert killed[0] not in client.run(os.getpid).values()

    before = {key: _stamp(cache, key) for key in cache.keys()}
    assert 10 <= len(before) <= 12  # everything reported was cached first (the missing file has no entry)
    resumed = _run(client, items, cache)
    assert [r.record["file"] for r in resumed] == [it.path for it in items]
    assert len({r.record["file"] for r in resumed}) == len(items)
    cached = {r.key for r in resumed if r.outcome == "cached"}
    analysed = {r.key for r in resumed if r.outcome == "analysed"}
    assert cached == set(before)
    assert not analysed & set(before)
    assert len(cache.keys()) == len(items) - 1
    assert {key: _stamp(cache, key) for key in before} == before  # nothing cached was written again
    assert sum(r.ok for r in resumed) == len(items) - len(BAD)


def _stamp(cache: ResultCache, key: str):
    st = cache.path(key).stat()
    return st.st_ino, st.st_mtime_ns


def test_store_adds_each_result_once(client, items, tmp_path):
    from voicerehearse.store import PracticeSession, Store

    store = Store.open(tmp_path / "data")
    some = [BatchItem(it.path, "Dana", it.stereo, f"call {i}") for i, it in enumerate(items[:8])]
    first = _run(client, some, ResultCache(tmp_path / "cache"), store=store)
    second = _run(client, some, ResultCache(tmp_path / "cache"), store=store)
    stored = [r.session_id for r in first if r.ok]
    assert len(stored) == 6 and None not in stored
    assert [r.session_id for r in second] == [r.session_id for r in first]
    with store.session() as db:
        titles = sorted(s.scenario_title for s in db.query(PracticeSession))
    assert titles == sorted(it.title for it, r in zip(some, first) if r.ok)
    assert store_result(store, first[0]) == first[0].session_id


def test_cli_on_an_existing_scheduler_writes_ordered_json_lines(client, items, tmp_path):
    from voicerehearse.cli import main

    manifest = tmp_path / "calls.csv"
    rows = ["file,trainee,stereo,title"] + [f"{os.path.relpath(it.path, tmp_path)},,"
                                             f"\"{'agent=0,customer=1' if it.stereo else ''}\"," for it in items[:8]]
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8", errors="surrogateescape")
    out = tmp_path / "out.jsonl"
    args = ["batch", "--manifest", str(manifest), "--scheduler", client.scheduler.address, "--results", str(out),
            "--cache", str(tmp_path / "cache")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output  # items[:8] holds two bad files and the non-UTF-8 name
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [os.path.realpath(r["file"]) for r in lines] == [os.path.realpath(it.path) for it in items[:8]]
    assert [r["error"] is None for r in lines] == [_name(it.path) not in BAD for it in items[:8]]
    assert "8 files: 8 analysed, 0 from the cache, 2 with errors" in result.output
    again = CliRunner().invoke(main, args)
    assert "8 files: 0 analysed, 8 from the cache, 2 with errors" in again.output
    assert out.read_text().splitlines() == [json.dumps(r) for r in lines]


def test_manifest_rows_and_path_expansion(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.flac").write_bytes(b"x")
    (tmp_path / "sub" / "notes.txt").write_text("x")
    manifest = tmp_path / "m.csv"
    manifest.write_text("File,Trainee,Stereo layout,Title\na.wav,Dana,\"agent=1,customer=0\",First\n\n"
                        "sub/b.flac,,,\n", encoding="utf-8")
    got = read_manifest(manifest, trainee="Sam")
    assert got == [BatchItem(str(tmp_path / "a.wav"), "Dana", StereoLayout(1, 0), "First"),
                   BatchItem(str(tmp_path / "sub" / "b.flac"), "Sam", None, None)]
    assert expand_paths([tmp_path / "sub", str(tmp_path / "*.wav"), "nowhere.wav"]) == [
        str(tmp_path / "sub" / "b.flac"), str(tmp_path / "a.wav"), "nowhere.wav"]


@pytest.mark.parametrize("text, message", [
    ("name,trainee\na.wav,Dana\n", "needs a 'file' column"),
    ("file,stereo\na.wav,agent=0\n", "row 2"),
    ("file,trainee\n,Dana\n", "row 2: no file"),
])
def test_bad_manifests_name_the_problem(tmp_path, text, message):
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    with pytest.raises(BatchError, match=message):
        read_manifest(manifest)


def test_a_glob_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(BatchError, match="no files match"):
        expand_paths([str(tmp_path / "*.wav")])
