"""Put a recording and its analysis into the store as a session (used by imports, the demo and tests)."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from voicerehearse.store import PracticeSession, Store, Trainee, Turn, get_or_create_trainee


def add_session(store: Store, *, trainee: str, scenario_id: str, scenario_title: str, source: str,
                turns: list[dict], started_at: datetime | None = None, note: str | None = None) -> int:
    """Store one session. Each turn dict: ``audio`` (a file to copy in), ``record`` (analysis schema dict),
    optional ``customer_text`` and ``prompt_start_s``. Returns the session id."""
    with store.session() as db:
        person = get_or_create_trainee(db, trainee)
        practice = PracticeSession(trainee=person, scenario_id=scenario_id, scenario_title=scenario_title,
                                   source=source, status="complete", note=note,
                                   started_at=started_at or datetime.now(timezone.utc))
        db.add(practice)
        db.flush()
        folder = store.audio_dir(str(practice.id))
        for index, spec in enumerate(turns):
            src = Path(spec["audio"])
            dest = folder / f"turn-{index}{src.suffix.lower()}"
            shutil.copyfile(src, dest)
            turn = Turn(index=index, audio_path=store.relative(dest), customer_text=spec.get("customer_text"),
                        prompt_start_s=spec.get("prompt_start_s"))
            turn.set_analysis(spec["record"])
            practice.turns.append(turn)
        practice.ended_at = datetime.now(timezone.utc)
        db.commit()
        return practice.id


def latest_baseline(store: Store, trainee: str):
    """The trainee's most recent calibration read as a :class:`voicerehearse.types.Baseline`, or None."""
    with store.session() as db:
        person = db.scalar(select(Trainee).where(Trainee.name == trainee))
        if person is None or not person.baselines:
            return None
        return person.baselines[-1].to_baseline()
