"""Store a recording and its analysis as a practice session; look up a trainee's latest calibration read.

Used by ``voicerehearse import``, the web import form, the demo and tests. The audio is staged under
``<data_dir>/audio/incoming`` first and moved to its final name only after the session's rows are committed,
so a failed write never leaves a row without its file, nor deletes the caller's file.

>>> import tempfile, pathlib
>>> from voicerehearse.store import Store
>>> store = Store.open(tempfile.mkdtemp())
>>> take = pathlib.Path(tempfile.mkdtemp()) / "take.wav"; _ = take.write_bytes(b"RIFF")
>>> sid = add_session(store, trainee="Dana", scenario_id="s", scenario_title="S", source="import",
...                   turns=[{"audio": take, "record": {"duration_s": 1.0}}])
>>> (store.data_dir / "audio" / str(sid) / "turn-0.wav").read_bytes(), take.exists()
(b'RIFF', True)
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from voicerehearse.store import PracticeSession, Store, Trainee, Turn, get_or_create_trainee


def _stage(store: Store, src: Path, move: bool) -> Path:
    """Copy (or, for ``move``, rename) ``src`` to a unique name in ``audio/incoming``."""
    staged = store.audio_dir("incoming") / f"{uuid.uuid4().hex}{src.suffix.lower()}"
    if move:
        try:
            os.link(src, staged)  # the caller's name stays until the session is committed
            return staged
        except OSError:
            pass  # another file system, or no hard links: copy
    shutil.copyfile(src, staged)
    return staged


def add_session(store: Store, *, trainee: str, scenario_id: str, scenario_title: str, source: str,
                turns: list[dict], started_at: datetime | None = None, note: str | None = None) -> int:
    """Store one session. Each turn dict: ``audio`` (a file to copy in; with ``move=True`` the file is moved in
    once the session is committed), ``record`` (analysis schema dict), optional ``customer_text`` and
    ``prompt_start_s``. Returns the session id. On any failure nothing is stored and ``audio`` is untouched."""
    sources = [Path(spec["audio"]) for spec in turns]
    staged: list[Path] = []
    try:
        for spec, src in zip(turns, sources):
            staged.append(_stage(store, src, bool(spec.get("move"))))
        with store.session() as db:
            person = get_or_create_trainee(db, trainee)
            practice = PracticeSession(trainee=person, scenario_id=scenario_id, scenario_title=scenario_title,
                                       source=source, status="complete", note=note,
                                       started_at=started_at or datetime.now(timezone.utc))
            db.add(practice)
            db.flush()
            folder = store.audio_dir(str(practice.id))
            finals = []
            for index, (spec, src) in enumerate(zip(turns, sources)):
                finals.append(folder / f"turn-{index}{src.suffix.lower()}")
                turn = Turn(index=index, audio_path=store.relative(finals[-1]),
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
        os.replace(path, final)  # same folder tree: atomic
    for spec, src in zip(turns, sources):
        if spec.get("move"):
            src.unlink(missing_ok=True)
    return session_id


def latest_baseline(store: Store, trainee: str):
    """The trainee's most recent calibration read as a :class:`voicerehearse.types.Baseline`, or None."""
    with store.session() as db:
        person = db.scalar(select(Trainee).where(Trainee.name == trainee.strip()))
        if person is None or not person.baselines:
            return None
        return person.baselines[-1].to_baseline()
