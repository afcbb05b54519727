"""The trainee's baseline: record a calm read of :data:`CALIBRATION_PASSAGE`, check it is usable (enough speech,
loud enough, far enough above the room's noise), measure and store it; :func:`latest_baseline` finds the last."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from voicerehearse.analysis.frames import framed_from_settings, speech_activity
from voicerehearse.audio.io import load_audio
from voicerehearse.errors import BaselineError, VoiceRehearseError
from voicerehearse.pipeline import measure_baseline
from voicerehearse.rehearsal.inputs import reply_file
from voicerehearse.rehearsal.options import RehearsalOptions
from voicerehearse.rehearsal.storage import STORE_FAILURES, _store_failure, trainee_folder
from voicerehearse.rehearsal.take import LiveInputs, _take
from voicerehearse.rehearsal.view import NullView, SessionView
from voicerehearse.settings import Settings
from voicerehearse.store import BaselineRecord, Store, get_or_create_trainee


CALIBRATION_PASSAGE = (
    "The library opens at nine in the morning on weekdays. On Saturdays it opens a little later, at ten, "
    "and it closes in the early afternoon. Books can be returned at the front desk or through the slot "
    "beside the main door."
)


def latest_baseline(store: Store, trainee: str) -> BaselineRecord | None:
    with store.session() as db:
        t = get_or_create_trainee(db, trainee)
        db.commit()
        return t.baselines[-1] if t.baselines else None


def calibrate(store: Store, trainee: str, options: RehearsalOptions, *, settings: Settings,
              view: SessionView = NullView(),
              stop: threading.Event | None = None) -> BaselineRecord:
    """Record the trainee reading :data:`CALIBRATION_PASSAGE`, measure it and store it as their baseline."""
    try:
        with store.session() as db:
            t = get_or_create_trainee(db, trainee)
            db.commit()
            trainee_id = t.id
    except STORE_FAILURES as exc:
        raise _store_failure(f"trainee {trainee!r}", exc) from exc
    folder = store.audio_dir(trainee_folder(trainee_id, trainee), "baselines")
    stem = folder / datetime.now(timezone.utc).strftime("baseline-%Y%m%dT%H%M%S")
    base, n = stem.name, 1
    while any((folder / f"{stem.name}{ext}").exists() for ext in (".wav", ".part", ".take.json")):
        n += 1  # two reads in the same second; another process racing for the same name gets TakeBusyError
        stem = folder / f"{base}-{n}"
    view.calibration_start(CALIBRATION_PASSAGE)
    reply = reply_file(options.replies, "calibration") if options.replies is not None else None
    if stop is not None:
        stop.clear()
    calib = replace(options, reply_end=replace(options.reply_end, no_reply_s=max(options.reply_end.no_reply_s, 15.0)))
    take = _take(stem, {"kind": "baseline", "trainee": trainee}, calib, None, 0, reply, view, stop, None,
                 LiveInputs(settings))
    if take.interrupted or take.error is not None:
        take.settle()  # an abandoned read is not a baseline: recovery must not store it later
        if take.interrupted:
            raise KeyboardInterrupt
        raise take.error
    try:
        record = _store_baseline(store, trainee, take.wav, settings)
    except VoiceRehearseError:  # e.g. no speech in the read: it will never be a baseline
        take.settle()
        raise
    except STORE_FAILURES as exc:
        take.release()
        raise _store_failure(f"the baseline of {trainee}", exc, take.wav) from exc
    take.settle()
    return record


def check_calibration(wav: Path, settings: Settings) -> None:
    """Is the read usable as a baseline? Enough speech, loud enough, far enough above the room's noise; else a
    BaselineError that says what to do ("we didn't hear you — check the microphone")."""
    audio = load_audio(wav, settings=settings)
    framed = framed_from_settings(audio.samples, audio.sample_rate, settings)
    activity = speech_activity(framed, settings)
    if not activity.has_speech or activity.speaking_time_s < settings.calibration_min_speech_s:
        heard = f" (heard {activity.speaking_time_s:.1f} s of speech)" if activity.has_speech else ""
        raise BaselineError(f"we didn't hear you{heard} — check the microphone is on and not muted, then read the "
                            "whole passage again")
    db = framed.db
    active = np.zeros(db.shape[0], bool)
    for seg in activity.segments:
        active[framed.frame_of(seg.start):framed.frame_of(seg.end) + 1] = True
    level = float(10 * np.log10(np.mean(framed.power[active])))
    floor = float(np.percentile(db, 5))
    if level < settings.calibration_min_level_dbfs:
        raise BaselineError(f"your read is too quiet ({level:.0f} dBFS, needs {settings.calibration_min_level_dbfs:g}): "
                            "move closer to the microphone or raise its gain, then read again")
    if level - floor < settings.calibration_min_snr_db:
        raise BaselineError(f"the room is too noisy: your voice is only {level - floor:.0f} dB above the background "
                            f"(needs {settings.calibration_min_snr_db:g}); find a quieter spot or use a headset, then "
                            "read again")


def _store_baseline(store: Store, trainee: str, wav: Path, settings: Settings, *,
                    check: bool = True) -> BaselineRecord:
    if check:
        check_calibration(wav, settings)
    baseline = measure_baseline(wav, settings)
    with store.session() as db:
        t = get_or_create_trainee(db, trainee)
        record = BaselineRecord(trainee_id=t.id, audio_path=store.relative(wav),
                                measures=BaselineRecord.measures_of(baseline))
        db.add(record)
        db.commit()
        return record
