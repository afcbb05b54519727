"""Store a recording and its analysis as a practice session; look up a trainee's latest calibration read.

Used by ``voicerehearse import``, the web import form, the demo and tests. The audio is written whole under a
unique name in ``audio/incoming`` first (flushed to disk) and renamed to its final name only after the session's
rows are committed, so a failed write never leaves a row without its file, nor deletes the caller's file, and
no reader ever sees half a file.

Recordings are named by their content, ``audio/sha256/<2 hex>/<sha256><suffix>``: several workstations storing
into one shared audio folder (the ``audio_dir`` setting) never clash, and the same take stored twice is one file.
Once stored, each gets what the replay page draws of it (waveform peaks, loudness and pitch contours) written
beside it (:mod:`voicerehearse.derived`); a failure there never undoes the store.

>>> import hashlib, tempfile, pathlib
>>> from voicerehearse.store import Store, Turn
>>> store = Store.open(tempfile.mkdtemp())
>>> take = pathlib.Path(tempfile.mkdtemp()) / "take.wav"; _ = take.write_bytes(b"RIFF")
>>> sid = add_session(store, trainee="Dana", scenario_id="s", scenario_title="S", source="import",
...                   turns=[{"audio": take, "record": {"duration_s": 1.0}}])
>>> with store.session() as db:
...     stored = db.scalars(Turn.__table__.select().with_only_columns(Turn.audio_path)).one()
>>> stored == f"audio/sha256/{hashlib.sha256(b'RIFF').hexdigest()[:2]}/{hashlib.sha256(b'RIFF').hexdigest()}.wav"
True
>>> store.resolve_audio(stored).read_bytes(), take.exists()
(b'RIFF', True)
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from voicerehearse.derived import ContourSpec, store_derived
from voicerehearse.settings import DEFAULTS, Settings
from voicerehearse.store import PracticeSession, Store, Trainee, Turn, get_or_create_trainee


COPY_BLOCK_BYTES = 1 << 20


def _stage(store: Store, src: Path, move: bool) -> tuple[Path, str]:
    """Copy (or, for ``move``, hard-link) ``src`` to a unique name in ``audio/incoming``; returns that path and
    the content's sha256."""
    staged = store.audio_dir("incoming") / f"{uuid.uuid4().hex}{src.suffix.lower()}"
    digest = hashlib.sha256()
    if move:
        try:
            os.link(src, staged)  # the caller's name stays until the session is committed
        except OSError:
            pass  # another file system, or no hard links: copy
        else:
            with open(staged, "rb") as fh:
                while block := fh.read(COPY_BLOCK_BYTES):
                    digest.update(block)
            return staged, digest.hexdigest()
    try:
        with open(src, "rb") as fin, open(staged, "xb") as fout:
            while block := fin.read(COPY_BLOCK_BYTES):
                digest.update(block)
                fout.write(block)
            fout.flush()
            os.fsync(fout.fileno())  # whole on disk before its name appears (a shared folder's readers)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged, digest.hexdigest()


def content_path(store: Store, digest: str, suffix: str) -> Path:
    """Where a recording with this sha256 lives in the audio folder."""
    return store.audio_root / "sha256" / digest[:2] / f"{digest}{suffix.lower()}"


def add_session(store: Store, *, trainee: str, scenario_id: str, scenario_title: str, source: str,
                turns: list[dict], started_at: datetime | None = None, note: str | None = None,
                baseline_id: int | None = None, settings: Settings = DEFAULTS) -> int:
    """Store one session. Each turn dict: ``audio`` (a file to copy in; with ``move=True`` the file is moved in
    once the session is committed), ``record`` (analysis schema dict), optional ``customer_text`` and
    ``prompt_start_s``. ``baseline_id``: the stored calibration read the turns were judged against. Returns the
    session id. On any failure nothing is stored and ``audio`` is untouched.
    Then each recording's derived data (what the replay draws, measured with ``settings``) is written beside it;
    a failure there is logged and leaves the stored session as it is."""
    sources = [Path(spec["audio"]) for spec in turns]
    staged: list[Path] = []
    finals: list[Path] = []
    try:
        for spec, src in zip(turns, sources):
            path, digest = _stage(store, src, bool(spec.get("move")))
            staged.append(path)
            finals.append(content_path(store, digest, src.suffix))
        with store.session() as db:
            person = get_or_create_trainee(db, trainee)
            practice = PracticeSession(trainee=person, scenario_id=scenario_id, scenario_title=scenario_title,
                                       source=source, status="complete", note=note, baseline_id=baseline_id,
                                       started_at=started_at or datetime.now(timezone.utc))
            db.add(practice)
            db.flush()
            for index, (spec, final) in enumerate(zip(turns, finals)):
                turn = Turn(index=index, audio_path=store.relative(final),
                            customer_text=spec.get("customer_text"), prompt_start_s=spec.get("prompt_start_s"))
                turn.set_analysis(spec["record"])
                practice.turns.append(turn)
            practice.ended_at = datetime.now(timezone.utc)
            db.commit()
            session_id = practice.id
    except BaseException:
        for path in staged:
            path.unlink(missing_ok=True)
        raise
    for path, final in zip(staged, finals):
        final.parent.mkdir(parents=True, exist_ok=True)  # inside the audio folder: its mode, its access
        os.replace(path, final)  # same folder tree: atomic; an existing file of that name holds the same bytes
        path.unlink(missing_ok=True)  # left only when both names were already one file (rename does nothing)
    for spec, src in zip(turns, sources):
        if spec.get("move"):
            src.unlink(missing_ok=True)
    for spec, final in zip(turns, finals):  # stored: from here nothing can fail the session
        store_derived(final, ContourSpec.of_record(spec["record"]), settings=settings)
    return session_id


def latest_baseline(store: Store, trainee: str):
    """The trainee's most recent calibration read as a :class:`voicerehearse.types.Baseline`, or None."""
    found = latest_baseline_record(store, trainee)
    return None if found is None else found[1]


def latest_baseline_record(store: Store, trainee: str):
    """(stored id, :class:`voicerehearse.types.Baseline`) of the trainee's most recent calibration read, or None:
    a session judged against it keeps the id, so it can be judged again against the same read."""
    with store.session() as db:
        person = db.scalar(select(Trainee).where(Trainee.name == trainee.strip()))
        if person is None or not person.baselines:
            return None
        return person.baselines[-1].id, person.baselines[-1].to_baseline()
