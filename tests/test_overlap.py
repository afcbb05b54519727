import numpy as np
import pytest

from voicerehearse.analysis.frames import framed_from_settings, speech_activity
from voicerehearse.audio.io import from_array
from voicerehearse.pipeline import StereoLayout, analyze_audio
from voicerehearse.settings import load_settings
from synth import SR, lowpass, noise, place, silence, voice

S = load_settings()
PROMPT = np.concatenate([voice(1.2, f0=210, syllable_hz=4, seed=11), silence(0.3),
                         voice(1.5, f0=200, syllable_hz=4, seed=12)])  # customer speaks 0 .. 3.0 s
PROMPT_START = 0.5  # played from 0.5 s: the customer's speech ends at 3.5 s


def _bleed(prompt, db=-20.0, delay_s=0.030):
    heard = lowpass(prompt, 2500.0) * 10 ** (db / 20)
    return np.concatenate([silence(delay_s), heard])


def _analyse(rec, prompt=PROMPT):
    audio = from_array(rec, SR)
    return analyze_audio(audio, settings=S, prompt=from_array(prompt, SR), prompt_start_s=PROMPT_START)


def test_barge_in_with_known_overlap_is_an_interruption():
    reply = voice(2.0, f0=140, level_db=-18, syllable_hz=3.5, seed=5)
    rec = place(7.0, (3.0, reply)) + noise(7.0, -70)  # starts 0.5 s before the customer stops; headset: no bleed
    turn = _analyse(rec).turn
    assert turn.prompt_end_s == pytest.approx(3.5, abs=0.03)
    assert turn.interrupted and len(turn.interruptions) == 1
    i = turn.interruptions[0]
    assert i.start == pytest.approx(3.0, abs=0.03) and i.duration_s == pytest.approx(0.5, abs=0.05)
    assert turn.response_latency_s == pytest.approx(-0.5, abs=0.05)
    assert not turn.bleed_detected


def test_backchannel_shorter_than_threshold_is_not_an_interruption():
    rec = place(7.0, (2.0, voice(0.12, f0=140, level_db=-18)), (4.0, voice(1.5, f0=140, level_db=-18, seed=2)))
    turn = _analyse(rec + noise(7.0, -70)).turn
    assert not turn.interrupted
    assert turn.reply_start_s == pytest.approx(4.0, abs=0.03)


def test_prompt_bleed_at_minus_20_db_is_not_the_trainee():
    reply = voice(2.0, f0=140, level_db=-18, syllable_hz=3.5, seed=5)
    rec = place(8.0, (PROMPT_START, _bleed(PROMPT)), (4.2, reply)) + noise(8.0, -70)
    analysis = _analyse(rec)
    turn = analysis.turn
    assert turn.bleed_detected
    assert turn.bleed_delay_s == pytest.approx(0.030, abs=0.002)
    assert -24 < turn.bleed_gain_db < -18
    assert not turn.interrupted
    assert turn.reply_start_s == pytest.approx(4.2, abs=0.03)
    assert turn.response_latency_s == pytest.approx(0.7, abs=0.05)
    # the trainee's speech is only the reply
    assert analysis.speech.segments[0].start == pytest.approx(4.2, abs=0.03)
    assert analysis.speech.speaking_time_s == pytest.approx(2.0, abs=0.15)


def test_without_rejection_the_bleed_would_look_like_speech():
    """Guards the test above: the bleed alone is loud enough to pass a level-only speech detector."""
    rec = place(8.0, (PROMPT_START, _bleed(PROMPT)), (4.2, voice(2.0, f0=140, level_db=-18, seed=5)))
    f = framed_from_settings(rec + noise(8.0, -70), SR, S)
    assert speech_activity(f, S).segments[0].start < 1.0


def test_barge_in_is_caught_through_the_bleed():
    reply = voice(2.0, f0=140, level_db=-18, syllable_hz=3.5, seed=5)
    rec = place(8.0, (PROMPT_START, _bleed(PROMPT)), (2.9, reply)) + noise(8.0, -70)
    turn = _analyse(rec).turn
    assert turn.bleed_detected and turn.interrupted
    assert turn.interruptions[0].start == pytest.approx(2.9, abs=0.05)  # soft onset under the bleed
    assert turn.interruptions[0].duration_s == pytest.approx(0.6, abs=0.06)


def test_stereo_talk_over_and_talk_ratio():
    agent = place(10.0, (0.0, voice(2.0, f0=140, seed=1)), (4.5, voice(3.0, f0=140, seed=2)),
                  (9.5, voice(0.5, f0=140, seed=5)))
    customer = place(10.0, (2.5, voice(3.0, f0=220, seed=3)), (8.0, voice(1.0, f0=220, seed=4)))
    audio = from_array(np.stack([agent, customer]) + noise(10.0, -70), SR, keep_channels=True)
    a = analyze_audio(audio, settings=S, stereo=StereoLayout.parse("agent=0,customer=1"))
    st = a.stereo
    agent_m, cust_m = st.sides
    assert agent_m.speaking_time_s == pytest.approx(5.5, abs=0.1)
    assert cust_m.speaking_time_s == pytest.approx(4.0, abs=0.1)
    assert agent_m.talk_ratio == pytest.approx(5.5 / 9.5, abs=0.02)
    assert len(st.talk_overs) == 1
    over = st.talk_overs[0]
    assert (over.interrupter, over.interrupted) == ("agent", "customer")
    assert over.start == pytest.approx(4.5, abs=0.03) and over.duration_s == pytest.approx(1.0, abs=0.05)
    assert st.patience_s == pytest.approx(0.5, abs=0.05)  # the agent answered the customer's last turn 0.5 s after it ended
    assert agent_m.longest_monologue_s == pytest.approx(3.0, abs=0.05)
    assert any(r.cue == "interruption" for r in a.delivery.reasons)


@pytest.mark.parametrize("text", ["agent=0", "agent=0,customer=0", "left=0,right=1", "agent=x,customer=1"])
def test_bad_stereo_layouts(text):
    from voicerehearse.errors import ConfigError

    with pytest.raises(ConfigError):
        StereoLayout.parse(text)


def test_words_heard_from_the_customer_are_not_the_trainees():
    from voicerehearse.analysis.overlap import words_in_speech
    from voicerehearse.types import Span, Transcript, Word

    words = (Word("take", 0.6, 0.9), Word("it", 0.9, 1.1), Word("off", 1.1, 1.4),  # bleed of the customer's line
             Word("let", 4.3, 4.5), Word("me", 4.5, 4.6), Word("help", 4.6, 5.0))
    kept = words_in_speech(Transcript("vosk", "m", "", words), (Span(4.2, 6.0),))
    assert [w.word for w in kept.words] == ["let", "me", "help"] and kept.text == "let me help"
    untimed = Transcript("file", None, "a b", (Word("a", None, None), Word("b", None, None)))
    assert words_in_speech(untimed, (Span(4.2, 6.0),)) is untimed


def _soft_ending_prompt(soft_db=-22.0):
    """Syllables at -14 dB RMS for 1.5 s, then a last syllable ``soft_db`` softer (0.4 s): speech ends at 1.9 s."""
    loud = voice(1.5, f0=210, level_db=-14, syllable_hz=4, seed=11)
    return np.concatenate([silence(0.2), loud, voice(0.4, f0=190, level_db=-14 + soft_db, seed=12), silence(0.3)])


@pytest.mark.parametrize("bleed", [False, True])
@pytest.mark.parametrize("offset_s,interrupted", [(-0.3, True), (-0.5, True), (0.25, False)])
def test_a_soft_last_syllable_still_belongs_to_the_customers_line(bleed, offset_s, interrupted):
    prompt = _soft_ending_prompt()
    end = PROMPT_START + 2.1  # the soft syllable ends 2.1 s into the clip
    reply = voice(2.0, f0=140, level_db=-18, syllable_hz=3.5, seed=5)
    parts = [(end + offset_s, reply)] + ([(PROMPT_START, _bleed(prompt, db=-18.0))] if bleed else [])
    rec = place(7.0, *parts) + noise(7.0, -70)
    turn = _analyse(rec, prompt=prompt).turn
    assert turn.prompt_end_s == pytest.approx(end, abs=0.03)
    assert turn.interrupted is interrupted
    # under the bleed the reply's soft onset is heard a little late
    assert turn.response_latency_s == pytest.approx(offset_s, abs=0.08 if bleed else 0.05)


def test_prompt_bounds_come_from_the_clean_prompt_alone():
    from voicerehearse.analysis.overlap import prompt_speech

    prompt = _soft_ending_prompt()
    span = prompt_speech(prompt, sr=SR, frame_length=512, hop_length=160, settings=S)
    assert span.start == pytest.approx(0.2, abs=0.03) and span.end == pytest.approx(2.1, abs=0.03)
    # a final syllable further below the loudest frame than prompt_end_below_peak_db is not speech
    quieter = prompt_speech(_soft_ending_prompt(-40.0), sr=SR, frame_length=512, hop_length=160, settings=S)
    assert quieter.end == pytest.approx(1.7, abs=0.05)
    assert prompt_speech(silence(1.0), sr=SR, frame_length=512, hop_length=160, settings=S) is None


def test_a_silent_prompt_ends_where_it_starts():
    rec = place(4.0, (1.0, voice(1.0, f0=140, level_db=-18, seed=5))) + noise(4.0, -70)
    turn = _analyse(rec, prompt=silence(1.0)).turn
    assert turn.prompt_end_s == PROMPT_START and not turn.interrupted
    assert turn.reply_start_s == pytest.approx(1.0, abs=0.03)
