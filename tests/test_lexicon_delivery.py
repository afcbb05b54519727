import numpy as np
import pytest

from voicerehearse.analysis.lexicon import CATEGORIES, find_cues, normalise
from voicerehearse.audio.io import from_array
from voicerehearse.delivery import judge
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


def test_no_false_cues_in_neutral_text():
    assert find_cues(_words("the parcel left the warehouse on monday morning")) == ()


def test_normalise_handles_case_punctuation_and_curly_apostrophes():
    assert normalise("I\u2019LL,") == ["i'll"]
    assert normalise("Sorry!") == ["sorry"]


def test_untimed_words_give_cues_without_spans():
    cues = find_cues(tuple(Word(w, None, None) for w in "calm down".split()))
    assert cues[0].category == "dismissive" and cues[0].start is None


BASE = Baseline(-26.0, 180.0, 2.0, -12.0, 4.0, "calibration.wav")


def _tone(loud=0.0, pitch=0.0, sd=2.0, effort=0.0):
    return ToneMetrics(-26 + loud, loud, 180 * 2 ** (pitch / 12), pitch, sd, -12 + effort, effort, 0.8, "calibration.wav")


PACE = PaceMetrics(None, 3.5, 4.0, 14, None)


@pytest.mark.parametrize("tone,label", [
    (_tone(), "assertive"),
    (_tone(loud=9, pitch=5, effort=8), "aggressive"),
    (_tone(loud=-8, effort=-6), "passive"),
    (_tone(sd=0.5), "passive"),  # under 1 st and under 0.6 x the 2 st baseline: monotone
    (_tone(sd=1.5), "assertive"),  # above the 1 st monotone line
])
def test_verdict_from_tone(tone, label):
    v = judge(tone=tone, pace=PACE, turn=None, cues=(), baseline=BASE, speech_span=(0.2, 4.0), settings=S)
    assert v.label == label


def test_reasons_name_cue_value_baseline_threshold_and_span():
    v = judge(tone=_tone(loud=9), pace=PACE, turn=None, cues=(), baseline=BASE, speech_span=(0.25, 4.0), settings=S)
    r = next(r for r in v.reasons if r.cue == "raised_voice")
    assert (r.value, r.baseline, r.threshold, r.unit) == (9.0, -26.0, S.loud_delta_db, "dB")
    assert (r.start, r.end) == (0.25, 4.0)
    assert "+9.0 dB" in r.message and "calibration.wav" in r.message
    assert r.weight == pytest.approx(9 / 6)


def test_lively_pitch_reads_as_enthusiasm_not_aggression():
    upbeat = _tone(loud=7, pitch=4.5, sd=5.5)
    v = judge(tone=upbeat, pace=PACE, turn=None, cues=(), baseline=BASE, speech_span=(0, 3), settings=S)
    assert v.label == "assertive"
    assert any(r.cue == "expressive" for r in v.reasons)
    hostile = judge(tone=_tone(loud=7, pitch=4.5, sd=2.5), pace=PACE, turn=None, cues=(), baseline=BASE,
                    speech_span=(0, 3), settings=S)
    assert hostile.label == "aggressive"


def test_language_and_thresholds_move_the_verdict():
    cues = find_cues(_words("calm down I'll do it but just this once you should have called earlier"))
    v = judge(tone=_tone(), pace=PACE, turn=None, cues=cues, baseline=BASE, speech_span=(0, 4), settings=S)
    assert v.label == "aggressive"
    assert {r.cue for r in v.reasons} >= {"dismissive", "ultimatum", "blame"}
    sorry = find_cues(_words("sorry I'm so sorry I guess maybe sorry"))
    assert judge(tone=_tone(), pace=PACE, turn=None, cues=sorry, baseline=BASE, speech_span=(0, 4),
                 settings=S).label == "passive"
    strict = load_settings(overrides={"verdict_min_score": 10.0})
    assert judge(tone=_tone(), pace=PACE, turn=None, cues=cues, baseline=BASE, speech_span=(0, 4),
                 settings=strict).label == "assertive"


def test_wpm_thresholds():
    fast = PaceMetrics(175.0, 5.0, 5.5, 20, 30)
    v = judge(tone=_tone(), pace=fast, turn=None, cues=(), baseline=BASE, speech_span=(0, 4), settings=S)
    assert any(r.cue == "rushed" and r.threshold == S.rushed_wpm for r in v.reasons)
    slow = PaceMetrics(80.0, 2.0, 2.5, 8, 10)
    v = judge(tone=_tone(), pace=slow, turn=None, cues=(), baseline=BASE, speech_span=(0, 4), settings=S)
    assert any(r.cue == "slow" for r in v.reasons)


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
    (float("nan"), None, "must be a time"),
    (float("inf"), None, "must be a time"),
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
