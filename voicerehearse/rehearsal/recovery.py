"""Takes left behind by a killed session (a ``.part`` and its sidecar) are stored at the next start, one at a
time and analysed when possible; a take whose store fails keeps its sidecar for the start after."""

from __future__ import annotations

from dataclasses import dataclass

from voicerehearse.audio.takes import RecoveredTake, TakeStorageError, pending_takes, recover_take, unstored_takes
from voicerehearse.errors import VoiceRehearseError
from voicerehearse.rehearsal.calibration import _store_baseline
from voicerehearse.rehearsal.storage import STORE_FAILURES, _describe
from voicerehearse.rehearsal.take import _analyse_and_store, wait_derived
from voicerehearse.settings import Settings
from voicerehearse.store import BaselineRecord, PracticeSession, Store


@dataclass(frozen=True)
class Recovery:
    take: RecoveredTake
    stored: str  # what it became: "turn 2 of session 5", "baseline of Dana", or "audio only"
    problem: str | None  # why it could not be analysed or stored, if so (the WAV is kept either way)


def recover(store: Store, *, settings: Settings) -> list[Recovery]:
    """Store takes left by a killed session (analysed when possible) and mark their sessions — one take at a time.

    Each ``.part`` is converted, stored, and only then loses its sidecar; a take whose storing fails (database
    locked, disk error) keeps its sidecar beside the WAV and the next call stores it. Failures are reported as
    that take's ``problem``, never raised.
    """
    results = []
    folder = store.data_dir / "audio"
    for path in pending_takes(folder) + unstored_takes(folder):
        try:
            take = recover_take(path)
        except TakeStorageError as exc:  # cannot even convert it (disk full): the .part stays for next time
            results.append(Recovery(RecoveredTake(path, {}, 0.0), "not stored yet", str(exc)))
            continue
        if take is None:  # another process is writing or storing it
            continue
        try:
            stored, problem = _store_recovered(store, take, settings)
        except STORE_FAILURES as exc:
            take.release()
            results.append(Recovery(take, "not stored yet", f"{_describe(exc)}; it will be stored at the next start"))
            continue
        except BaseException:
            take.release()
            raise
        try:
            take.settle()
        except TakeStorageError as exc:
            problem = problem or str(exc)
        results.append(Recovery(take, stored, problem))
    wait_derived()
    return results


def _store_recovered(store: Store, take: RecoveredTake, settings: Settings) -> tuple[str, str | None]:
    """Store one recovered take: (what it became, why it could not be analysed). Database and disk failures
    propagate (the take is then kept for the next run); a VoiceRehearseError is final and becomes the problem."""
    meta = take.meta
    try:
        if meta.get("kind") == "baseline" and meta.get("trainee"):
            _store_baseline(store, meta["trainee"], take.wav, settings, check=False)
            return f"baseline of {meta['trainee']}", None
        if meta.get("kind") == "turn" and meta.get("session_id"):
            try:
                session_id, index = int(meta["session_id"]), int(meta["turn"])
                take_no = int(meta.get("take") or 1)
                prompt_start_s = float(meta.get("prompt_start_s") or 0.0)
            except (KeyError, TypeError, ValueError):
                return "audio only", "its sidecar does not say which turn it is"
            stored = f"turn {index} of session {session_id}" + (f" (take {take_no})" if take_no > 1 else "")
            with store.session() as db:
                session = db.get(PracticeSession, session_id)
                if session is None:
                    return "audio only", f"session {session_id} is not in the database"
                session.status = "recovered"
                session.note = f"recovered after an interruption (turn {index})"
                record = db.get(BaselineRecord, session.baseline_id) if session.baseline_id is not None else None
                baseline = record.to_baseline() if record is not None else None
                db.commit()
            prompt = store.data_dir / meta["prompt"] if meta.get("prompt") else None
            try:
                _analyse_and_store(store, session_id, index, meta.get("customer_text") or "", take.wav, prompt,
                                   prompt_start_s, baseline, None, settings, take=take_no,
                                   practice={"recovered": True})
            except VoiceRehearseError as exc:  # the turn and its audio are stored; only the analysis failed
                return stored, str(exc)
            return stored, None
    except VoiceRehearseError as exc:
        return "audio only", str(exc)
    return "audio only", "no session recorded in its sidecar"
