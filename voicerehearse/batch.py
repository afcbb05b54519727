"""Analyse many recordings on a Dask cluster: ordered results, one error record per bad file, resumable.

The client (this process) owns the plan, the results cache and the store; workers only read audio and
compute. Each file goes through two small tasks: :func:`hash_task` (the audio's sha256) and, unless the cache
already holds its result, :func:`analyse_task` (:func:`voicerehearse.pipeline.analyze_file`, plus words from
:func:`voicerehearse.transcribe.engine.transcribe_file`). The settings and the resolved engine travel once per
worker in a :class:`BatchWorkerPlugin`, which also loads the speech model once per worker process.

A result is keyed by the audio's sha256 and a digest of everything else that shapes it (package version,
settings, engine and model, stereo layout, baseline): a rerun after a crash, or a second batch holding the same
recording, takes it from the cache instead of analysing it again. Each result is written to the cache
atomically as it arrives, before it is reported.

Inputs (paths, globs, manifests) are in :mod:`voicerehearse.batch_inputs`, the keys and the results cache in
:mod:`voicerehearse.batch_cache`; this module re-exports their public names.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicerehearse.audio.io import shown
from voicerehearse.batch_cache import (ResultCache, default_cache_dir, file_sha256, result_key,  # noqa: F401
                                       settings_digest)
from voicerehearse.batch_inputs import AUDIO_SUFFIXES, BatchError, BatchItem, expand_paths, read_manifest  # noqa: F401
from voicerehearse.errors import (AudioDurationError, AudioFormatError, ConfigError, TranscriptFormatError,
                                  VoiceRehearseError)
from voicerehearse.pipeline import StereoLayout
from voicerehearse.settings import DEFAULTS, Settings
from voicerehearse.types import Baseline

TASKS_PER_THREAD = 8  # files in flight per worker thread: hides the round trips without flooding the scheduler
PLUGIN_PREFIX = "voicerehearse-batch-"
# errors that belong to the recording itself (the same bytes and settings fail the same way): cached like results;
# anything else (engine, model, store, a dead worker) is reported but tried again on the next run
INPUT_ERRORS = (AudioFormatError, AudioDurationError, ConfigError, TranscriptFormatError)


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one item: its analysis record (schema ``voicerehearse.analysis/1``) or error record."""

    index: int  # position in the input
    item: BatchItem
    record: dict[str, Any]
    outcome: str  # "analysed" (now), "cached" (by an earlier run) or "failed" (before or outside the analysis)
    key: str | None = None  # the cache key (None when the file could not even be read)
    session_id: int | None = None  # the stored session, with store=

    @property
    def ok(self) -> bool:
        return self.record.get("error") is None


# --- worker side -----------------------------------------------------------------------------------------------

try:
    from distributed import WorkerPlugin as _PluginBase
except ImportError:  # pragma: no cover - dask is a dependency; this keeps the module importable without it
    _PluginBase = object


class BatchWorkerPlugin(_PluginBase):
    """Lives on each worker for one run: the settings and engine, and the speech model loaded at setup."""

    def __init__(self, settings: Settings, engine=None):
        self.settings = settings
        self.engine = engine  # EngineChoice, or None for acoustic-only

    def setup(self, worker=None) -> None:
        if self.engine is None:
            return
        try:  # the engines cache their model per process: load it now, once, not inside the first file
            if self.engine.engine == "vosk":
                from voicerehearse.transcribe import vosk_engine

                vosk_engine.load_model(self.engine.model_path)
            else:
                from voicerehearse.transcribe import sphinx_engine

                sphinx_engine.preload()
        except VoiceRehearseError:
            pass  # each file then reports the error in its record


def plugin_name(digest: str) -> str:
    return PLUGIN_PREFIX + digest[:16]


def hash_task(path: str) -> tuple[str | None, dict | None]:
    """On a worker: ``(sha256, None)``, or ``(None, error record)`` for a file that cannot be read."""
    from voicerehearse.schema import error_record

    try:
        return file_sha256(path), None
    except VoiceRehearseError as exc:
        return None, error_record(path, exc)


def analyse_task(name: str, path: str, stereo: StereoLayout | None, baseline: Baseline | None) -> tuple[dict, bool]:
    """On a worker: ``(record, cacheable)`` for one file, using the run's :class:`BatchWorkerPlugin` ``name``."""
    from distributed import get_worker

    plugin = get_worker().plugins[name]
    return analyse_one(path, settings=plugin.settings, engine=plugin.engine, stereo=stereo, baseline=baseline)


def analyse_one(path: str, *, settings: Settings, engine=None, stereo: StereoLayout | None = None,
                baseline: Baseline | None = None) -> tuple[dict, bool]:
    """The record of one file and whether it may be cached (a result, or an error of the recording itself)."""
    from voicerehearse.pipeline import analyze_file
    from voicerehearse.schema import analysis_record, error_record

    with _openable(path) as readable:
        try:
            words = None
            if engine is not None:
                from voicerehearse.transcribe.engine import transcribe_file

                words = transcribe_file(readable, engine=engine, settings=settings,
                                        channel=stereo.agent if stereo is not None else None)  # as import
            record = analysis_record(analyze_file(readable, settings=settings, transcript=words, stereo=stereo,
                                                  baseline=baseline))
            return {**record, "file": path}, True
        except VoiceRehearseError as exc:
            if readable != path:
                exc = type(exc)(str(exc).replace(readable, shown(path)), field=exc.field)
            return error_record(path, exc), isinstance(exc, INPUT_ERRORS)


@contextmanager
def _openable(path: str) -> Iterator[str]:
    """``path``, or for a name that is not valid UTF-8 (which libsndfile's Python binding cannot open) a
    symbolic link to it with a plain name, removed afterwards."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        with tempfile.TemporaryDirectory(prefix="voicerehearse-batch-") as folder:
            link = os.path.join(folder, "input" + Path(shown(path)).suffix)
            os.symlink(os.path.abspath(path), link)
            yield link
        return
    yield path


# --- client side -----------------------------------------------------------------------------------------------


@contextmanager
def dask_client(scheduler: str | None = None, workers: int = 0) -> Iterator[Any]:
    """A ``distributed.Client``: on the cluster at ``scheduler`` (``tcp://host:8786``), else on a local cluster
    of ``workers`` processes with one thread each (0 = one per core), closed afterwards."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise BatchError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield client


class Batch:
    """One run over a list of items on a Dask ``client``; iterate :meth:`run` for results in input order."""

    def __init__(self, client, *, settings: Settings, engine=None, cache: ResultCache, store=None,
                 baselines: dict[str, Baseline] | None = None):
        self.client = client
        self.settings = settings
        self.engine = engine  # EngineChoice or None
        self.cache = cache
        self.store = store  # a voicerehearse.store.Store to add each result to as a session, or None
        self.baselines = baselines or {}  # trainee -> the baseline their recordings are judged against
        self.digest = settings_digest(settings, engine)
        self.plugin = plugin_name(self.digest)

    def run(self, items: list[BatchItem], *,
            on_progress: Callable[[BatchResult], None] | None = None) -> Iterator[BatchResult]:
        """Yield one :class:`BatchResult` per item, in input order. ``on_progress`` hears of each as it completes
        (in completion order), after its result is in the cache (and the store)."""
        from distributed import as_completed

        self.client.register_plugin(BatchWorkerPlugin(self.settings, self.engine), name=self.plugin)
        threads = max(1, sum(self.client.nthreads().values()))
        window = TASKS_PER_THREAD * threads
        waiting = deque(enumerate(items))
        ready: dict[int, BatchResult] = {}
        futures = as_completed()
        jobs: dict[Any, tuple[str, int, str | None]] = {}  # future -> (stage, index, key)
        next_out = 0

        def submit_more():
            while waiting and len(jobs) < window:
                index, item = waiting.popleft()
                future = self.client.submit(hash_task, item.path, pure=False)
                jobs[future] = ("hash", index, None)
                futures.add(future)

        def finish(result: BatchResult):
            result = self._stored(result)
            ready[result.index] = result
            if on_progress is not None:
                on_progress(result)

        submit_more()
        for future in futures:
            stage, index, key = jobs.pop(future)
            item = items[index]
            if stage == "hash":
                sha, error = self._value(future, item)
                if sha is None:
                    finish(BatchResult(index, item, error, "failed"))
                else:
                    key = result_key(sha, self.digest, item.stereo, self.baselines.get(item.trainee or ""))
                    cached = self.cache.get(key)
                    if cached is not None:
                        finish(BatchResult(index, item, cached, "cached", key))
                    else:
                        follow = self.client.submit(analyse_task, self.plugin, item.path, item.stereo,
                                                    self.baselines.get(item.trainee or ""), pure=False)
                        jobs[follow] = ("analyse", index, key)
                        futures.add(follow)
            else:
                value = self._value(future, item)
                if isinstance(value, tuple):
                    record, cacheable = value
                    if cacheable:
                        self.cache.put(key, record)
                    finish(BatchResult(index, item, record, "analysed", key))
                else:
                    finish(BatchResult(index, item, value, "failed", key))
            submit_more()
            while next_out in ready:
                yield ready.pop(next_out)
                next_out += 1

    @staticmethod
    def _value(future, item: BatchItem):
        """The task's value; an error record when the task itself died (a bug, or its worker killed too often)."""
        from voicerehearse.schema import error_record

        try:
            return future.result()
        except Exception as exc:  # the file is reported in its own record; the batch goes on
            return error_record(item.path, BatchError(f"{shown(item.path)}: the analysis failed on the cluster "
                                                      f"({type(exc).__name__}: {exc})"))

    def _stored(self, result: BatchResult) -> BatchResult:
        """With a store: the result added as a session once (a session noting its key is not added again)."""
        if self.store is None or not result.ok or result.key is None:
            return result
        try:
            return dataclasses.replace(result, session_id=store_result(self.store, result, self.settings))
        except VoiceRehearseError as exc:
            from voicerehearse.schema import error_record

            return dataclasses.replace(result, record=error_record(result.item.path, exc), outcome="failed")


def session_note(result: BatchResult) -> str:
    return f"Batch import of {shown(Path(result.item.path).name)} (result {result.key})"


def store_result(store, result: BatchResult, settings: Settings = DEFAULTS) -> int:
    """Add ``result`` to ``store`` as a session of its trainee, unless a session with its note is there already;
    returns the session id. ``settings``: what the replay's derived data is measured with."""
    from sqlalchemy import select

    from voicerehearse.sessions import add_session
    from voicerehearse.store import PracticeSession, Trainee

    item = result.item
    if not item.trainee:
        raise BatchError(f"{shown(item.path)}: storing a session needs a trainee")
    note = session_note(result)
    with store.session() as db:
        found = db.scalar(select(PracticeSession.id).join(Trainee).where(
            PracticeSession.note == note, Trainee.name == item.trainee.strip()))
    if found is not None:
        return found
    name = shown(Path(item.path).name)
    return add_session(store, trainee=item.trainee, scenario_id="import",
                       scenario_title=item.title or f"Imported call: {name}", source="import",
                       turns=[{"audio": Path(item.path), "record": result.record}], note=note, settings=settings)


def baselines_for(store, trainees: Iterable[str]) -> dict[str, Baseline]:
    """Each trainee's latest stored calibration read (those without one are left out)."""
    from voicerehearse.sessions import latest_baseline

    found = {}
    for name in sorted(set(trainees)):
        baseline = latest_baseline(store, name)
        if baseline is not None:
            found[name] = baseline
    return found
