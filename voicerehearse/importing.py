"""Import a call recording for review — the one code path of ``voicerehearse import`` and the web import form:
transcribe (each side of a two-channel call on its own), analyse with the pipeline, redact spoken numbers, store.

The voice is judged against the trainee's latest calibration read when there is one (``baseline="latest"``),
exactly as ``voicerehearse analyze --baseline THAT_READ`` judges it; with ``baseline="none"`` it is judged against
a typical level, as ``analyze`` without ``--baseline``. The record says which (``tone.baseline``) and the page
shows it, so the two commands never disagree silently.

Redaction (settings ``redact_*``): runs of spoken digits that look like card, account or phone numbers are
masked in the stored transcripts and silenced (or beeped) in the stored audio, which is what the web report
serves; the original is kept beside it only with ``redact_keep_original`` (never served).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voicerehearse.audio.io import shown
from voicerehearse.errors import ConfigError, VoiceRehearseError

BASELINE_RULES = ("latest", "none")


@dataclass(frozen=True)
class ImportResult:
    session_id: int
    label: str  # the verdict
    call: object | None  # voicerehearse.transcribe.calls.CallTranscript (redacted), None without transcription
    numbers_redacted: int  # spoken numbers masked and silenced
    baseline: str  # what the voice was compared with (tone.baseline)


def redact_call(call, *, min_digits: int):
    """The call with the spoken numbers of every side masked, and the masked spans (for the audio)."""
    from voicerehearse.redact import find_numbers, redact_transcript

    sides, spans = [], []
    for side in call.sides:
        found = find_numbers(side.transcript.words, min_digits=min_digits)
        spans.extend(found)
        sides.append(dataclasses.replace(side, transcript=redact_transcript(side.transcript, found))
                     if found else side)
    return dataclasses.replace(call, sides=tuple(sides)), tuple(spans)


def _redacted_audio(path: Path, spans, settings, folder: Path) -> Path:
    """A WAV copy of ``path`` (its own rate and channels) with ``spans`` silenced or beeped."""
    import soundfile as sf

    from voicerehearse.redact import redact_audio

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    out = redact_audio(data.T, sr, spans, pad_s=settings.redact_pad_s, beep=settings.redact_beep).T
    fd, name = tempfile.mkstemp(suffix=".wav", dir=folder)
    os.close(fd)
    sf.write(name, out, sr, subtype="PCM_16")
    return Path(name)


def _record_transcript(record: dict, transcript) -> None:
    from voicerehearse.transcribe.engine import transcript_dict

    if record.get("transcript") is not None and transcript is not None:
        record["transcript"] = {**record["transcript"], **transcript_dict(transcript)}


def _named(exc: VoiceRehearseError, path: Path, name: str) -> VoiceRehearseError:
    """The same error (class and ``field``) with ``path``, full or its base name, written as ``name``: a background
    import runs on a temporary upload file, whose name means nothing to the user.

    >>> e = _named(ConfigError("/tmp/up/tmp8tv.wav: stereo", field="stereo"), Path("/tmp/up/tmp8tv.wav"), "mon.wav")
    >>> type(e).__name__, str(e), e.field
    ('ConfigError', 'mon.wav: stereo', 'stereo')
    """
    def rename(arg):
        if not isinstance(arg, str):
            return arg
        for old in dict.fromkeys((shown(path), str(path), shown(path.name), path.name)):  # full path, then name
            arg = arg.replace(old, name)
        return arg

    return type(exc)(*map(rename, exc.args), field=exc.field)


def import_call(store, path: str | os.PathLike, *, trainee: str, title: str | None = None,
                display_name: str | None = None, stereo=None, engine=None, settings, baseline: str = "latest",
                note: str | None = None) -> ImportResult:
    """Analyse, transcribe (``engine``: an engine choice, None for acoustic only), redact and store one call.

    ``stereo``: a :class:`voicerehearse.pipeline.StereoLayout` for a two-channel call. ``display_name``: the
    name shown for the file (an upload's own name rather than its temporary one)."""
    from voicerehearse.pipeline import analyze_file
    from voicerehearse.schema import analysis_record
    from voicerehearse.sessions import add_session, latest_baseline_record
    from voicerehearse.transcribe.calls import call_record, transcribe_call

    if baseline not in BASELINE_RULES:
        raise ConfigError(f"baseline must be one of {', '.join(BASELINE_RULES)}, got {baseline!r}")
    path = Path(path)
    name = shown(display_name or path.name)  # printable and storable, also when the name is not UTF-8
    call = None
    if engine is not None:
        channels = {"agent": stereo.agent, "customer": stereo.customer} if stereo is not None else None
        try:
            call = transcribe_call(path, engine=engine, settings=settings, channels=channels)
        except VoiceRehearseError as exc:
            raise _named(exc, path, name) from exc
    words = None if call is None else (call.side("agent") or call.side("mixed"))
    stored = latest_baseline_record(store, trainee) if baseline == "latest" else None
    reference = None if stored is None else stored[1]
    try:
        analysis = analyze_file(path, stereo=stereo, baseline=reference, settings=settings, transcript=words)
    except VoiceRehearseError as exc:
        raise _named(exc, path, name) from exc
    record = analysis_record(analysis)
    record["file"] = name
    spans: tuple = ()
    if call is not None and settings.redact_imports:
        call, spans = redact_call(call, min_digits=settings.redact_min_digits)
        _record_transcript(record, call.side("agent") or call.side("mixed"))
    if call is not None:
        record["call_transcript"] = call_record(call)
    record["redaction"] = {"enabled": settings.redact_imports, "checked": call is not None,
                           "numbers": len(spans), "audio": "beep" if settings.redact_beep else "silence",
                           "original_kept": bool(spans) and settings.redact_keep_original}
    audio = path
    staged = None
    if spans:
        staged = audio = _redacted_audio(path, spans, settings, store.audio_dir("incoming"))
    try:
        session_id = add_session(store, trainee=trainee, scenario_id="import",
                                 scenario_title=title or f"Imported call: {name}", source="import",
                                 turns=[{"audio": audio, "record": record, "move": staged is not None}],
                                 note=note or f"Imported from {name}",
                                 baseline_id=None if stored is None else stored[0], settings=settings)
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
    if spans and settings.redact_keep_original:
        shutil.copyfile(path, store.audio_dir("originals", str(session_id)) / f"original{path.suffix.lower()}")
    return ImportResult(session_id, record["delivery"]["label"], call, len(spans),
                        (record.get("tone") or {}).get("baseline") or "")
