import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from voicerehearse.cli import main
from voicerehearse.schema import SCHEMA
from voicerehearse.settings import SETTINGS
from synth import SR, noise, place, voice

ROOT = Path(__file__).resolve().parents[1]
TOP_KEYS = ["schema", "file", "duration_s", "sample_rate", "channels", "truncated", "error", "transcript", "speech", "pace",
            "tone", "turn", "stereo", "delivery", "flags", "cues"]
SECTION_KEYS = {
    "speech": {"segments", "speaking_time_s", "pauses", "threshold_dbfs"},
    "pace": {"words_per_minute", "syllables_per_second", "articulation_rate", "syllable_count", "word_count"},
    "tone": {"loudness_db", "loudness_delta_db", "pitch_median_hz", "pitch_delta_st", "pitch_sd_st",
             "alpha_ratio_db", "alpha_ratio_delta_db", "voiced_fraction", "baseline", "baseline_loudness_db",
             "baseline_pitch_hz", "segments", "h1_a3_db", "h1_a3_delta_db", "brightness_db", "brightness_delta_db",
             "band_hz"},
    "turn": {"prompt_start_s", "prompt_end_s", "reply_start_s", "response_latency_s", "interrupted",
             "interruptions", "bleed_detected", "bleed_gain_db", "bleed_delay_s"},
    "delivery": {"label", "scores", "reasons", "notes", "confidence", "prior"},
}
REASON_KEYS = {"cue", "style", "value", "baseline", "threshold", "unit", "message", "start", "end", "weight",
               "contribution", "phrase"}


@pytest.fixture
def files(tmp_path):
    prompt = voice(2.0, f0=220, syllable_hz=4, seed=7)
    reply = voice(2.0, f0=150, level_db=-18, syllable_hz=4, seed=8)
    sf.write(tmp_path / "prompt.wav", prompt, SR)
    sf.write(tmp_path / "take.wav", place(5.0, (0.3, prompt * 0.1), (1.8, reply)) + noise(5.0, -70), SR)
    sf.write(tmp_path / "base.wav", voice(3.0, f0=150, level_db=-22, syllable_hz=4, seed=9), SR)
    sf.write(tmp_path / "quiet.wav", np.zeros(SR), SR)
    (tmp_path / "bad.wav").write_text("not audio")
    (tmp_path / "words.json").write_text(json.dumps(
        [{"word": w, "start": 1.9 + 0.3 * i, "end": 2.1 + 0.3 * i} for i, w in enumerate("let me fix that".split())]))
    return {p.stem: str(p) for p in tmp_path.iterdir()}


def _run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_json_lines_contract(files):
    r = _run("analyze", files["take"], "--prompt", files["prompt"], "--prompt-start", "0.3", "--baseline",
             files["base"], "--transcript", files["words"], "--json")
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert list(rec) == TOP_KEYS
    assert rec["schema"] == SCHEMA and rec["error"] is None and rec["sample_rate"] == SR and rec["channels"] == 1
    for section, keys in SECTION_KEYS.items():
        assert keys <= set(rec[section]), section
    assert set(rec["delivery"]["scores"]) == {"aggressive", "passive", "assertive"}
    assert all(set(r) == REASON_KEYS for r in rec["delivery"]["reasons"])
    assert all(set(f) == {"kind", "severity", "start", "end", "message"} for f in rec["flags"])
    assert rec["transcript"]["engine"] == "file" and rec["transcript"]["words"][0] == {
        "word": "let", "start": 1.9, "end": 2.1, "conf": None}
    assert rec["pace"]["words_per_minute"] == pytest.approx(4 / 1.1 * 60, rel=1e-3)
    assert rec["turn"]["reply_start_s"] == pytest.approx(1.8, abs=0.05)
    assert rec["tone"]["baseline"] == "base.wav"
    assert any(c["category"] == "ownership" for c in rec["cues"])


def test_bad_file_gets_an_error_line_the_rest_still_run_and_exit_is_nonzero(files):
    r = _run("analyze", files["take"], files["bad"], files["quiet"], "--json")
    assert r.exit_code == 1
    recs = [json.loads(line) for line in r.output.strip().splitlines()]
    assert [Path(x["file"]).stem for x in recs] == ["take", "bad", "quiet"]
    assert recs[1]["error"]["type"] == "AudioFormatError" and "not a readable audio file" in recs[1]["error"]["message"]
    assert list(recs[1]) == TOP_KEYS and recs[1]["speech"] is None
    assert recs[2]["error"] is None and recs[2]["delivery"]["label"] == "no speech"


def test_summary_output_and_one_line_errors(files):
    r = _run("analyze", files["take"], "--baseline", files["base"])
    assert r.exit_code == 0 and "Tone" in r.output and "base.wav" in r.output
    voice = next(line for line in r.output.splitlines() if "tension H1-A3" in line)
    assert "brightness" in voice and voice.count(" dB") == 4  # each measure with its delta to the baseline
    r = _run("analyze", files["bad"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    r = _run("analyze", files["take"], "--baseline", files["quiet"])
    assert r.exit_code == 1 and "holds no speech" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("args,message", [
    (["--stereo", "agent=0"], "is written 'agent=N,customer=M', got 'agent=0' (--stereo)"),
    (["--stereo", "agent=0,customer=1"], "needs channels 0 and 1, the file has 1 (--stereo)"),
    (["--set", "min_pause_s=fast"], "must be float"),
    (["--set", "no_such=1"], "unknown setting"),
    (["--config", "/nonexistent.toml"], "config file not found"),
    (["--prompt-start", "-1", "--prompt", "PROMPT"], "must start at a time >= 0 s, got -1 (--prompt-start)"),
    (["--transcript", "/nonexistent.json"], "transcript not found"),
])
def test_bad_options_are_one_clear_line(files, args, message):
    args = [files["prompt"] if a == "PROMPT" else a for a in args]
    r = _run("analyze", files["take"], *args)
    assert r.exit_code != 0
    assert message in r.output and "Traceback" not in r.output


def test_config_file_changes_thresholds(files, tmp_path):
    cfg = tmp_path / "strict.toml"
    cfg.write_text("[activity]\nmin_pause_s = 5.0\n")
    r = _run("settings", "--config", str(cfg))
    assert r.exit_code == 0 and "5.0" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("min_pause_s = [")
    r = _run("analyze", files["take"], "--config", str(bad))
    assert r.exit_code == 1 and "not valid TOML" in r.output


def test_settings_lists_every_setting_and_round_trips_as_toml(tmp_path):
    r = _run("settings")
    for s in SETTINGS:
        assert s.name in r.output
    r = _run("settings", "--toml")
    path = tmp_path / "all.toml"
    path.write_text(r.output)
    assert _run("settings", "--config", str(path)).exit_code == 0


def test_every_setting_declares_its_unit_in_its_name():
    unitless = {"pitch_aperiodicity_max", "vosk_model", "data_dir", "database_url", "repeated_apology_count",
                "bleed_min_correlation", "delivery_model", "min_password_length", "audio_dir"}
    pattern = re.compile(r"_(s|db|dbfs|st|hz|wpm|ratio|count|weight|factor|score|max|fraction|pct|spreads|words|digits|length|points)$")
    for s in SETTINGS:
        assert pattern.search(s.name) or s.name in unitless or isinstance(s.default, bool), s.name  # a flag has no unit


def test_docs_cover_every_setting_and_schema_field():
    settings_doc = (ROOT / "docs" / "settings.md").read_text()
    assert settings_doc == _run("settings", "--markdown").output, "regenerate: voicerehearse settings --markdown"
    for s in SETTINGS:
        assert f"`{s.name}`" in settings_doc, s.name
    schema_doc = (ROOT / "docs" / "analysis-schema.md").read_text()
    for key in TOP_KEYS:
        assert f"`{key}`" in schema_doc, key


def test_help_explains():
    r = _run("analyze", "--help")
    assert r.exit_code == 0 and "--prompt-start" in r.output and "JSON Lines" in r.output
