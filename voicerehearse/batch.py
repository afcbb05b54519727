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

>>> key = result_key("ab" * 32, "s" * 64, None, None)
>>> key.startswith("ab" * 32 + "-"), len(key)
(True, 81)
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import hashlib
import json
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicerehearse import __version__
from voicerehearse.errors import (AudioDurationError, AudioFormatError, ConfigError, TranscriptFormatError,
                                  VoiceRehearseError)
from voicerehearse.pipeline import StereoLayout
from voicerehearse.settings import SETTINGS
from voicerehearse.types import Baseline
from voicerehearse.settings import DEFAULTS, Settings

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64")
HASH_BLOCK_BYTES = 1 << 20  # read this much of a file at a time while hashing it
TASKS_PER_THREAD = 8  # files in flight per worker thread: hides the round trips without flooding the scheduler
PLUGIN_PREFIX = "voicerehearse-batch-"
CACHE_DIR_NAME = "batch-cache"  # in the data directory, unless the caller names a folder
UNHASHED_SECTIONS = ("store", "batch")  # settings that cannot change an analysis
# errors that belong to the recording itself (the same bytes and settings fail the same way): cached like results;
# anything else (engine, model, store, a dead worker) is reported but tried again on the next run
INPUT_ERRORS = (AudioFormatError, AudioDurationError, ConfigError, TranscriptFormatError)


class BatchError(VoiceRehearseError):
    """A batch cannot start (no inputs, bad manifest, no cluster), or one file's analysis failed unexpectedly."""


@dataclass(frozen=True)
class BatchItem:
    """One recording to analyse, in input order."""

    path: str  # as given (a non-UTF-8 name is kept as the OS gave it, see os.fsdecode)
    trainee: str | None = None  # whose call it is; needed to store it as a session
    stereo: StereoLayout | None = None  # which channel is the agent and which the customer
    title: str | None = None  # the stored session's title


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


def shown(path: str | os.PathLike) -> str:
    """A file name safe to print or store: undecodable bytes become U+FFFD.

    >>> shown(os.fsdecode(b"caf\\xe9.wav"))
    'caf\\ufffd.wav'
    """
    return os.fsencode(path).decode("utf-8", "replace")


# --- inputs ---------------------------------------------------------------------------------------------------


def expand_paths(args: Iterable[str | os.PathLike]) -> list[str]:
    """Files named by ``args`` in order: a file as is (even a missing one: it gets an error record), a folder as
    the audio files under it (sorted; a folder without any stays as one input and gets an error record), a glob
    (``*``, ``?``, ``[``, ``**``) as its sorted matches. A glob that matches nothing raises BatchError, since
    that is a mistake in the command, not a bad file."""
    out: list[str] = []
    for arg in args:
        arg = os.fspath(arg)
        if os.path.isdir(arg):
            found = sorted(str(p) for p in Path(arg).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
            if not found:  # one bad input among many: its own error record, the rest still run
                out.append(arg)
                continue
            out.extend(found)
        elif not os.path.lexists(arg) and any(c in arg for c in "*?["):
            found = sorted(p for p in glob.glob(arg, recursive=True) if os.path.isfile(p))
            if not found:
                raise BatchError(f"{shown(arg)}: no files match")
            out.extend(found)
        else:
            out.append(arg)
    return out


_COLUMNS = {"file": "file", "path": "file", "trainee": "trainee", "stereo": "stereo", "stereo layout": "stereo",
            "stereo_layout": "stereo", "layout": "stereo", "title": "title"}


def read_manifest(path: str | os.PathLike, *, trainee: str | None = None,
                  stereo: StereoLayout | None = None) -> list[BatchItem]:
    """Items from a CSV manifest with a header row: ``file`` (required; relative to the manifest's folder),
    ``trainee``, ``stereo`` (e.g. ``agent=0,customer=1``), ``title``. Blank cells take ``trainee`` / ``stereo``.
    Raises BatchError naming the row for an unreadable manifest, a missing ``file`` column or a bad layout."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="surrogateescape")  # names as the file system has them
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"manifest {shown(path)} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    names = [_COLUMNS.get(h.strip().lower()) for h in header or ()]
    if "file" not in names:
        raise BatchError(f"manifest {shown(path)}: the header needs a 'file' column (and optionally trainee, "
                         f"stereo, title), got {header!r}")
    items = []
    for number, row in enumerate(rows, start=2):
        cells = {name: cell.strip() for name, cell in zip(names, row) if name}
        if not any(cells.values()):
            continue  # blank line
        if not cells.get("file"):
            raise BatchError(f"manifest {shown(path)} row {number}: no file")
        try:
            layout = StereoLayout.parse(cells["stereo"]) if cells.get("stereo") else stereo
        except ConfigError as exc:
            raise BatchError(f"manifest {shown(path)} row {number}: {exc}") from None
        items.append(BatchItem(str(path.parent / cells["file"]), cells.get("trainee") or trainee, layout,
                               cells.get("title") or None))
    return items


# --- keys and the results cache ----------------------------------------------------------------------------------


def settings_digest(settings: Settings, engine=None) -> str:
    """A sha256 over what shapes every analysis of a run: package version, settings (bar the store and batch
    sections) and the engine with its model. ``engine`` is an EngineChoice, or None for acoustic-only."""
    skip = {s.name for s in SETTINGS if s.section in UNHASHED_SECTIONS}
    values = {k: v for k, v in dataclasses.asdict(settings).items() if k not in skip}
    body = {"version": __version__, "settings": values,
            "engine": None if engine is None else [engine.engine, str(engine.model_path or "")]}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def result_key(audio_sha256: str, digest: str, stereo: StereoLayout | None, baseline: Baseline | None) -> str:
    """``<audio sha256>-<16 hex digits>``: the file's content and everything else that shapes its result."""
    body = json.dumps([digest, None if stereo is None else [stereo.agent, stereo.customer],
                       None if baseline is None else dataclasses.asdict(baseline)], sort_keys=True)
    return f"{audio_sha256}-{hashlib.sha256(body.encode()).hexdigest()[:16]}"


class ResultCache:
    """One JSON file per result key under ``folder`` (``ab/abcd...-0123....json``), each written atomically."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise BatchError(f"cannot use the results cache {shown(self.folder)}: {exc.strerror}") from None

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached record, or None (also for an unreadable entry, which is then simply analysed again)."""
        try:
            return json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Write ``record`` under ``key``: to a temporary file, then renamed over it (a crashed process never
        leaves half an entry)."""
        target = self.path(key)
        try:
            target.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:  # no fsync (10 ms a file): an entry cut
                    json.dump(record, f)                              # short by a power loss reads as missing
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise BatchError(f"cannot write to the results cache {shown(self.folder)}: {exc.strerror}") from None

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("??/*.json"))


def default_cache_dir(settings: Settings) -> Path:
    from voicerehearse.store import default_data_dir

    return default_data_dir(settings) / CACHE_DIR_NAME


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


def file_sha256(path: str) -> str:
    """The hex sha256 of a file's bytes; AudioFormatError when it is missing or unreadable."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(HASH_BLOCK_BYTES):
                digest.update(block)
    except FileNotFoundError:
        raise AudioFormatError(f"{shown(path)}: no such file") from None
    except IsADirectoryError:
        raise AudioFormatError(f"{shown(path)}: a folder, not an audio file") from None
    except OSError as exc:
        raise AudioFormatError(f"{shown(path)}: cannot be read ({exc.strerror})") from None
    return digest.hexdigest()


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
