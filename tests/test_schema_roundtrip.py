"""A stored analysis record reads back into the same typed objects the pipeline made: one model end to end."""

import json

import pytest

from synth import SR, noise, place, voice
from voicerehearse.audio.io import from_array
from voicerehearse.errors import StoreFormatError
from voicerehearse.pipeline import StereoLayout, analyze_audio
from voicerehearse.schema import analysis_from_record, analysis_record, error_record
from voicerehearse.settings import load_settings
from voicerehearse.types import Analysis, Transcript, Word

S = load_settings()


def _round_trip(a: Analysis) -> Analysis:
    return analysis_from_record(json.loads(json.dumps(analysis_record(a))))


def test_a_reply_with_words_prompt_and_reasons_round_trips():
    import numpy as np

    words = Transcript("file", None, "calm down", (Word("calm", 1.0, 1.3), Word("down", 1.35, 1.7)))
    take = place(4.0, (0.3, voice(1.2, f0=210, seed=3)), (1.0, voice(2.5, f0=150, level_db=-12, syllable_hz=4)))
    prompt = from_array(voice(1.2, f0=210, seed=3), SR)
    a = analyze_audio(from_array(take + noise(4.0, -70), SR), settings=S, transcript=words, prompt=prompt,
                      prompt_start_s=0.3)
    back = _round_trip(a)
    assert isinstance(back, Analysis)
    assert analysis_record(back) == analysis_record(a)  # nothing lost or changed type
    assert back.delivery.reasons and isinstance(back.delivery.reasons[0].contribution, float)
    assert back.transcript.words[0] == Word("calm", 1.0, 1.3, None)
    assert back.turn is not None and isinstance(back.speech.segments, tuple)


def test_a_call_round_trips():
    import numpy as np

    agent = place(6.0, (0.5, voice(2.0, f0=130, syllable_hz=4)))
    customer = place(6.0, (3.0, voice(2.0, f0=220, syllable_hz=4, seed=4)))
    a = analyze_audio(from_array(np.stack([agent, customer]), SR, keep_channels=True), settings=S,
                      stereo=StereoLayout(0, 1))
    back = _round_trip(a)
    assert analysis_record(back) == analysis_record(a)
    assert back.stereo.sides[0].segments[0].start == pytest.approx(0.5, abs=0.05)


def test_records_that_are_not_analyses_are_typed_errors():
    from voicerehearse.errors import AudioFormatError

    with pytest.raises(StoreFormatError, match="holds an error"):
        analysis_from_record(error_record("x.wav", AudioFormatError("bad")))
    with pytest.raises(StoreFormatError, match="not a voicerehearse.analysis/1"):
        analysis_from_record({"schema": "other/1"})


def test_a_cut_short_file_is_analysed_and_marked_truncated(tmp_path):
    import soundfile as sf
    from click.testing import CliRunner

    from voicerehearse.cli import main

    whole = tmp_path / "whole.flac"
    sf.write(whole, voice(3.0, syllable_hz=3), SR)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    r = CliRunner().invoke(main, ["analyze", str(cut), str(whole), "--json", "--engine", "none"])
    assert r.exit_code == 0, r.output
    cut_rec, whole_rec = (json.loads(line) for line in r.output.strip().splitlines())
    assert cut_rec["truncated"] is True and cut_rec["delivery"]["label"] != "no speech"
    assert whole_rec["truncated"] is False
    assert analysis_from_record(cut_rec).truncated
