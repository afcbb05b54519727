from pathlib import Path

import numpy as np
import pytest

from voicerehearse.analysis.lexicon import CATEGORIES, find_cues, normalise
from voicerehearse.audio.io import from_array
from voicerehearse.delivery import flags_for, judge
from voicerehearse.pipeline import analyze_audio
from voicerehearse.settings import load_settings
from voicerehearse.types import Baseline, PaceMetrics, ToneMetrics, Transcript, Word
from synth import SR, noise, place, voice

S = load_settings()


def _words(text, step=0.3):
    return tuple(Word(w, round(i * step, 3), round(i * step + 0.25, 3)) for i, w in enumerate(text.split()))


@pytest.mark.parametrize("text,category", [
    ("I completely understand how frustrating that is", "empathy"),
    ("let me look into that for you", "ownership"),
    ("you will receive it within three business days", "expectation"),
    ("what would completely satisfy you today", "open_question"),
    ("fine I'll do it but just this once", "ultimatum"),
    ("you should have read the terms", "blame"),
    ("ma'am please calm down", "dismissive"),
    ("I guess maybe we could try", "hedge"),
    ("there's nothing I can do about it", "give_in"),
])
def test_each_category_is_found_with_its_span(text, category):
    cues = find_cues(_words(text))
    match = next(c for c in cues if c.category == category)
    assert match.start is not None and match.end > match.start
    assert match.style == next(c.style for c in CATEGORIES if c.name == category)


@pytest.mark.parametrize("text,present,absent", [
    # refusals and negations are not ownership or empathy
    ("I'm sorry but there's nothing I can do about the fee", {"give_in"}, {"ownership"}),
    ("I can't help you with that", {"give_in"}, {"ownership"}),
    ("I understand, but that's not my problem", {"yes_but", "dismissive"}, {"empathy"}),
    ("I will not refund a fee you agreed to", set(), {"ownership"}),
    ("okay I'll waive the fee but just this once", {"ultimatum"}, set()),
    # the assertive moves of the same calls
    ("I understand how frustrating a late fee is, let me see what I can do", {"empathy", "ownership"}, {"yes_but"}),
    ("I'll waive the fee today and you'll see it on your next statement", {"ownership", "expectation"}, set()),
    ("what would completely satisfy you", {"open_question"}, set()),
    ("I'll call you back within two business days", {"ownership", "expectation"}, {"give_in"}),
])
def test_cues_read_their_context(text, present, absent):
    found = {c.category for c in find_cues(_words(text))}
    assert present <= found, found
    assert not (absent & found), found


def test_the_phrase_table_is_data_and_its_errors_are_clear():
    from voicerehearse.analysis.lexicon import load_categories
    from voicerehearse.errors import ConfigError

    assert {c.name for c in CATEGORIES} >= {"empathy", "ownership", "give_in", "yes_but"}
    with pytest.raises(ConfigError, match="style"):
        load_categories('[[category]]\nname = "x"\nstyle = "rude"\nadvice = "a"\nphrases = ["a b"]\n')
    with pytest.raises(ConfigError, match="not valid"):
        load_categories('[[category]]\nname = "x"\n')


def test_no_false_cues_in_neutral_text():
    assert find_cues(_words("the parcel left the warehouse on monday morning")) == ()


def test_normalise_handles_case_punctuation_and_curly_apostrophes():
    assert normalise("I\u2019LL,") == ["i'll"]
    assert normalise("Sorry!") == ["sorry"]


def test_untimed_words_give_cues_without_spans():
    cues = find_cues(tuple(Word(w, None, None) for w in "calm down".split()))
    assert cues[0].category == "dismissive" and cues[0].start is None


BASE = Baseline(-26.0, 180.0, 2.0, -12.0, 4.0, "calibration.wav")


def _tone(loud=0.0, pitch=0.0, sd=2.0, effort=0.0, tension=None, bright=None):
    quality = {} if tension is None and bright is None else {"band_hz": 8000.0}
    if tension is not None:
        quality.update(h1_a3_db=14.0 + tension, h1_a3_delta_db=tension)
    if bright is not None:
        quality.update(brightness_db=-10.0 + bright, brightness_delta_db=bright)
    return ToneMetrics(-26 + loud, loud, 180 * 2 ** (pitch / 12), pitch, sd, -12 + effort, effort, 0.8, "calibration.wav",
                       **quality)


PACE = PaceMetrics(None, 3.5, 4.0, 14, None)


def _judge(tone=None, pace=PACE, cues=(), baseline=BASE, settings=S, **kw):
    return judge(tone=tone or _tone(), pace=pace, turn=None, cues=cues, baseline=baseline, speech_span=(0.2, 4.0),
                 settings=settings, **kw)


def _spreads(settings, k):
    """k normal spreads of each measure, in its own unit."""
    return {"loud": k * settings.loudness_spread_db, "pitch": k * settings.pitch_spread_st,
            "sd": k * settings.pitch_sd_spread_st, "effort": k * settings.effort_spread_db}


@pytest.mark.parametrize("k,cues,label", [
    (4.0, ("loud", "pitch", "effort"), "aggressive"),  # clearly louder, higher and pressed
    (-3.0, ("effort",), "passive"),  # a breathy, low-energy voice, far past normal
    (-3.0, ("loud", "sd", "effort"), "passive"),
])
def test_clear_evidence_names_the_style(k, cues, label):
    d = _spreads(S, k)
    values = {c: d[c] for c in cues}
    if "sd" in values:
        values["sd"] += 2.0  # the baseline's variation
    tone = _tone(**values)
    assert _judge(tone).label == label


def test_normal_variation_is_assertive_with_no_reasons():
    """Two neutral sentences of one speaker differ by about one spread: that is not a cue."""
    d = _spreads(S, S.cue_threshold_spreads)
    for sign in (1, -1):
        tone = _tone(loud=sign * d["loud"], pitch=sign * d["pitch"], sd=2.0 + sign * d["sd"], effort=sign * d["effort"])
        v = _judge(tone)
        assert v.label == "assertive" and v.reasons == ()


def test_one_cue_barely_past_its_threshold_cannot_decide():
    for cue in ("loud", "pitch", "effort"):
        d = _spreads(S, S.cue_threshold_spreads + 0.2)
        for sign in (1, -1):
            v = _judge(_tone(**{cue: sign * d[cue]}))
            assert v.label == "assertive", (cue, sign)
            assert len(v.reasons) == 1 and 0 < v.reasons[0].contribution < 0.5


def test_scores_are_exactly_prior_plus_contributions_and_confidence_grows_with_evidence():
    cues = find_cues(_words("calm down you should have called"))
    weak, strong = (_judge(_tone(loud=d["loud"], effort=d["effort"]), cues=cues) for d in (_spreads(S, 1.5), _spreads(S, 5)))
    for v in (weak, strong):
        for style in ("aggressive", "passive", "assertive"):
            total = getattr(v.prior, style) + sum(r.contribution for r in v.reasons if r.style == style)
            assert getattr(v.scores, style) == pytest.approx(total, abs=0.002)
        assert 0.0 < v.confidence <= 1.0
    assert strong.label == "aggressive" and strong.confidence > weak.confidence


def test_reasons_name_cue_value_baseline_threshold_and_span():
    d = _spreads(S, 4)["loud"]
    v = _judge(_tone(loud=d))
    r = next(r for r in v.reasons if r.cue == "raised_voice")
    assert (r.value, r.baseline, r.unit) == (pytest.approx(d, abs=1e-3), -26.0, "dB")
    assert r.threshold == pytest.approx(S.cue_threshold_spreads * S.loudness_spread_db, abs=1e-3)
    assert (r.start, r.end) == (0.2, 4.0)
    assert f"{d:+.1f} dB" in r.message and "calibration.wav" in r.message
    assert r.contribution == pytest.approx(r.weight) and r.contribution > 0


@pytest.mark.parametrize("cue,measure,sign,style", [("breathy_voice", "tension", +1, "passive"),
                                                    ("harsh_timbre", "bright", +1, "aggressive"),
                                                    ("tense_voice", "tension", -1, "aggressive"),
                                                    ("dull_timbre", "bright", -1, "passive")])
def test_voice_quality_alone_is_judged_in_its_own_spreads_and_explained(cue, measure, sign, style):
    """Voice quality alone, far enough past its threshold to outweigh the prior by 1, names its style; the reason
    says by how much against the baseline, in dB, and contributes exactly weight x spreads past the threshold. A cue
    the fitted model gives no weight is never shown and changes nothing."""
    from voicerehearse.delivery import load_model

    model = load_model()
    spread = S.tension_spread_db if measure == "tension" else S.brightness_spread_db
    w = model.weights[cue]
    k = S.cue_threshold_spreads + ((1.0 - getattr(model.prior, style)) / w if w else 5.0)
    v = _judge(_tone(**{measure: sign * k * spread}))
    if w == 0.0:
        assert v.label == "assertive" and v.reasons == ()
        return
    assert v.label == style
    r = next(r for r in v.reasons if r.cue == cue)
    assert r.unit == "dB" and r.value == pytest.approx(sign * k * spread, abs=1e-3)
    assert r.contribution == pytest.approx(w * (k - S.cue_threshold_spreads), abs=2e-3)


def test_voice_quality_inside_its_normal_spread_is_no_reason():
    same = _judge(_tone(tension=0.4 * S.tension_spread_db, bright=-0.4 * S.brightness_spread_db))
    assert same.label == "assertive" and same.reasons == ()


def test_a_model_file_from_before_a_cue_loads_with_that_cue_at_zero(tmp_path):
    from voicerehearse.delivery import load_model
    from voicerehearse.errors import ConfigError

    text = (Path(__file__).resolve().parents[1] / "voicerehearse" / "delivery_model.toml").read_text()
    older = "\n".join(line for line in text.splitlines()
                      if not line.startswith(("tense_voice", "breathy_voice", "harsh_timbre", "dull_timbre")))
    (tmp_path / "old.toml").write_text(older)
    old = load_model(tmp_path / "old.toml")
    assert old.weights["breathy_voice"] == 0.0 and old.weights["raised_voice"] == load_model().weights["raised_voice"]
    (tmp_path / "typo.toml").write_text(text.replace("raised_voice =", "raised_vocie ="))
    with pytest.raises(ConfigError, match="raised_vocie"):
        load_model(tmp_path / "typo.toml")


def test_a_baseline_stored_before_voice_quality_says_so():
    import dataclasses

    breathy = _tone(effort=-3 * S.effort_spread_db, tension=3 * S.tension_spread_db, bright=0.0)
    old = _judge(dataclasses.replace(breathy, h1_a3_delta_db=None, brightness_delta_db=None))  # BASE has none
    assert any("new calibration read" in n for n in old.notes)
    assert not any(r.cue in ("breathy_voice", "harsh_timbre") for r in old.reasons)
    new = _judge(breathy, baseline=Baseline(-26.0, 180.0, 2.0, -12.0, 4.0, "calibration.wav", 14.0, -10.0, 8000.0))
    assert not any("calibration read" in n or "kHz" in n for n in new.notes)
    phone = _judge(dataclasses.replace(breathy, h1_a3_delta_db=None, brightness_delta_db=None, band_hz=4000.0),
                   baseline=Baseline(-26.0, 180.0, 2.0, -12.0, 4.0, "calibration.wav", 14.0, -10.0, 8000.0))
    assert any("reaches 4 kHz" in n and "8 kHz" in n for n in phone.notes)


def test_a_cue_with_zero_weight_gives_no_reason(tmp_path):
    from voicerehearse.delivery import load_model

    text = (Path(__file__).resolve().parents[1] / "voicerehearse" / "delivery_model.toml").read_text()
    model = tmp_path / "model.toml"
    model.write_text(text.replace(f"raised_voice = {load_model().weights['raised_voice']:.4f}", "raised_voice = 0.0"))
    assert load_model(model).weights["raised_voice"] == 0.0
    loud = _tone(loud=4 * S.loudness_spread_db)
    assert any(r.cue == "raised_voice" for r in _judge(loud).reasons)
    muted = load_settings(overrides={"delivery_model": str(model)})
    assert not any(r.cue == "raised_voice" for r in _judge(loud, settings=muted).reasons)


def test_thresholds_are_measured_in_normal_spreads():
    """The same 5 dB rise is a cue for a steady speaker and normal for one whose neutral reads vary by 12 dB."""
    steady, varied = load_settings(overrides={"loudness_spread_db": 1.5}), load_settings(overrides={"loudness_spread_db": 12.0})
    assert any(r.cue == "raised_voice" for r in _judge(_tone(loud=5.0), settings=steady).reasons)
    assert not any(r.cue == "raised_voice" for r in _judge(_tone(loud=5.0), settings=varied).reasons)


def test_lively_pitch_counts_for_assertive():
    v = _judge(_tone(sd=2.0 + _spreads(S, 3)["sd"]))
    assert v.label == "assertive"
    assert any(r.cue == "expressive" and r.style == "assertive" for r in v.reasons)
    assert any(f.kind == "expressive" and f.severity == "info" for f in flags_for(v, ()))


def test_language_moves_the_verdict():
    cues = find_cues(_words("calm down I'll do it but just this once you should have called earlier"))
    v = _judge(cues=cues)
    assert v.label == "aggressive"
    assert {r.cue for r in v.reasons} >= {"dismissive", "ultimatum", "blame"}
    assert next(r for r in v.reasons if r.cue == "dismissive").phrase == "calm down"
    sorry = find_cues(_words("sorry I'm so sorry I guess maybe sorry"))
    assert _judge(cues=sorry).label == "passive"
    gentle = load_settings(overrides={"language_cue_score": 0.1})
    assert _judge(cues=cues, settings=gentle).label == "assertive"


def test_rough_fallback_words_never_drive_the_verdict():
    words = _words("calm down you should have read the terms this is not my problem " * 2)
    cues = find_cues(words)
    fast = PaceMetrics(260.0, 5.0, 5.5, 26, 26)
    rough = Transcript("pocketsphinx", "en-us", "", words, note="Rough fallback transcript")
    trusted = Transcript("vosk", "small-en", "", words)
    v = _judge(pace=fast, cues=cues, baseline=None, transcript=rough, speaking_time_s=4.0)
    assert v.label == "assertive" and v.reasons == ()
    assert any("rough" in n for n in v.notes)
    assert _judge(pace=fast, cues=cues, baseline=None, transcript=trusted, speaking_time_s=4.0).label == "aggressive"


@pytest.mark.parametrize("words,speech_s,flagged", [
    (20, 4.0, True),
    (7, 4.0, False),  # too few words for a rate
    (20, 2.5, False),  # too little speech
])
def test_words_per_minute_needs_enough_words_and_speech(words, speech_s, flagged):
    fast = PaceMetrics(230.0, 5.0, 5.5, 20, words)
    trusted = Transcript("vosk", "m", "", _words("word " * words))
    v = _judge(pace=fast, baseline=None, transcript=trusted, speaking_time_s=speech_s)
    assert any(r.cue == "rushed" and r.threshold == S.rushed_wpm for r in v.reasons) == flagged


def test_with_a_baseline_pace_is_judged_against_its_rate_not_in_words_per_minute():
    trusted = Transcript("vosk", "m", "", _words("word " * 20))
    same_rate = PaceMetrics(230.0, 3.5, 4.0, 14, 20)  # a fast talker at their own normal rate
    assert not any(r.cue == "rushed" for r in _judge(pace=same_rate, transcript=trusted, speaking_time_s=4).reasons)
    faster = PaceMetrics(None, 7.0, 8.0, 28, None)  # twice their own articulation rate
    r = next(r for r in _judge(pace=faster).reasons if r.cue == "rushed")
    assert r.value == pytest.approx(2.0) and r.unit == "x baseline" and r.threshold > 1.0


def test_end_to_end_synthetic_aggressive_and_passive_replies():
    base_audio = from_array(voice(3.0, f0=170, level_db=-26, syllable_hz=4, vibrato_st=2.0), SR)
    base_a = analyze_audio(base_audio, settings=S)
    baseline = Baseline(base_a.tone.loudness_db, base_a.tone.pitch_median_hz, base_a.tone.pitch_sd_st,
                        base_a.tone.alpha_ratio_db, base_a.pace.articulation_rate, "base")
    shout = from_array(voice(3.0, f0=300, level_db=-16, syllable_hz=4, brightness=2.5, vibrato_st=2.0), SR)
    mumble = from_array(voice(3.0, f0=150, level_db=-35, syllable_hz=4, brightness=0.6, vibrato_st=0.3)
                        + noise(3.0, -75), SR)
    assert analyze_audio(shout, settings=S, baseline=baseline).delivery.label == "aggressive"
    assert analyze_audio(mumble, settings=S, baseline=baseline).delivery.label == "passive"
    same = from_array(voice(3.0, f0=172, level_db=-25, syllable_hz=4, vibrato_st=2.0, seed=9), SR)
    assert analyze_audio(same, settings=S, baseline=baseline).delivery.label == "assertive"


def test_silence_is_no_speech_with_a_flag_free_result():
    a = analyze_audio(from_array(np.zeros(SR * 2, np.float32), SR), settings=S)
    assert a.delivery.label == "no speech" and a.flags == ()
    assert a.pace.syllables_per_second is None and a.tone.loudness_db is None


def test_flags_are_time_stamped_and_include_positive_notes():
    words = Transcript("file", None, "", _words("I understand let me fix that calm down"))
    a = analyze_audio(from_array(place(3.0, (0.2, voice(2.5))), SR), settings=S, transcript=words)
    kinds = {f.kind: f for f in a.flags}
    assert kinds["empathy"].severity == "info" and kinds["dismissive"].severity in ("warning", "problem")
    assert all(f.start is not None for f in a.flags if f.kind in ("empathy", "dismissive"))
    starts = [f.start for f in a.flags if f.start is not None]
    assert starts == sorted(starts)


def test_monotone_is_judged_against_a_flat_speakers_own_baseline():
    flat_talker = Baseline(-26.0, 180.0, 0.5, -12.0, 4.0, "flat.wav")
    v = judge(tone=_tone(sd=0.5), pace=PACE, turn=None, cues=(), baseline=flat_talker, speech_span=(0, 3), settings=S)
    assert v.label == "assertive" and not any(r.cue == "monotone" for r in v.reasons)


def test_raised_voice_flag_spans_the_loud_stretch_only():
    calm = voice(1.5, f0=160, level_db=-30, syllable_hz=4, seed=1)
    shout = voice(1.5, f0=160, level_db=-14, syllable_hz=4, seed=2)
    y = place(6.0, (0.2, calm), (2.2, shout), (4.2, calm)) + noise(6.0, -75)
    baseline = Baseline(-30.0, 160.0, 1.5, None, None, "calm")
    a = analyze_audio(from_array(y, SR), settings=S, baseline=baseline)
    loud = next(r for r in a.delivery.reasons if r.cue == "raised_voice")
    assert loud.start == pytest.approx(2.2, abs=0.05) and loud.end == pytest.approx(3.7, abs=0.05)
    segs = a.tone.segments
    assert len(segs) == 3 and segs[1].loudness_db - segs[0].loudness_db == pytest.approx(16, abs=0.5)
    assert a.tone.baseline_loudness_db == -30.0


@pytest.mark.parametrize("make", [
    lambda: noise(3.0, -30.0),  # hiss
    lambda: (0.1 * np.sin(2 * np.pi * 50 * np.arange(3 * SR) / SR)).astype(np.float32),  # mains hum
    lambda: np.full(3 * SR, 0.02, np.float32),  # a biased mic recording silence
    lambda: place(3.0, *[(0.3 * i, noise(0.05, -10.0, seed=i)) for i in range(8)]),  # clicks, no voice
])
def test_sound_without_a_voice_is_no_speech(make):
    a = analyze_audio(from_array(make(), SR), settings=S)
    assert a.delivery.label == "no speech" and a.flags == ()


def test_dc_offset_does_not_change_the_measures():
    y = place(3.0, (0.5, voice(2.0, syllable_hz=4)))
    plain, biased = (analyze_audio(from_array(x, SR), settings=S).tone for x in (y, y + 0.05))
    assert biased.loudness_db == pytest.approx(plain.loudness_db, abs=0.05)
    assert biased.pitch_median_hz == pytest.approx(plain.pitch_median_hz, rel=0.002)


@pytest.mark.parametrize("start,words,message", [
    (float("nan"), None, "must start at a time"),
    (float("inf"), None, "must start at a time"),
    (10.0, None, "past the end"),
    (0.0, (Word("late", 50.0, 60.0),), "past the end"),
])
def test_inconsistent_timing_inputs_are_clear_errors(start, words, message):
    from voicerehearse.errors import VoiceRehearseError

    audio = from_array(place(3.0, (0.5, voice(2.0))), SR)
    prompt = from_array(voice(1.0), SR) if words is None else None
    transcript = Transcript("file", None, "", words) if words else None
    with pytest.raises(VoiceRehearseError, match=message):
        analyze_audio(audio, settings=S, prompt=prompt, prompt_start_s=start, transcript=transcript)
