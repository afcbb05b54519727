"""Two-channel calls: the everyday overlaps of a conversation are not interruptions; cutting in is."""

import numpy as np
import pytest

from synth import SR, noise, place, voice
from voicerehearse.audio.io import from_array
from voicerehearse.pipeline import StereoLayout, analyze_audio
from voicerehearse.settings import load_settings

S = load_settings()
LAYOUT = StereoLayout(agent=0, customer=1)


def _call(agent_parts, customer_parts, total_s=12.0):
    agent = place(total_s, *[(t, voice(d, f0=130, syllable_hz=4, seed=i)) for i, (t, d) in enumerate(agent_parts)])
    customer = place(total_s, *[(t, voice(d, f0=210, syllable_hz=3, seed=10 + i))
                                for i, (t, d) in enumerate(customer_parts)])
    stereo = np.stack([agent + noise(total_s, -70), customer + noise(total_s, -70, seed=2)])
    return analyze_audio(from_array(stereo, SR, keep_channels=True), settings=S, stereo=LAYOUT)


def _interruptions(a):
    return [r for r in a.delivery.reasons if r.cue == "interruption"]


def test_backchannel_and_a_quick_hand_over_are_not_interruptions():
    # customer talks 0.5-6.0 s; the agent says "mm-hmm" at 2.0 s (0.4 s) and answers 0.3 s before they finish
    a = _call([(2.0, 0.4), (5.7, 4.0)], [(0.5, 5.5)])
    overs = [o for o in a.stereo.talk_overs if o.interrupter == "agent"]
    assert len(overs) == 2  # both overlaps are measured ...
    assert _interruptions(a) == []  # ... neither is judged an interruption
    assert a.delivery.label == "assertive"


@pytest.mark.parametrize("agent_start", [3.0, 4.0])
def test_cutting_in_while_the_customer_still_has_seconds_to_say_is_an_interruption(agent_start):
    # the agent starts talking over the customer and keeps going; the customer gives up at 5.0 s
    a = _call([(agent_start, 5.0)], [(0.5, 4.5)])
    found = _interruptions(a)
    assert len(found) == 1 and found[0].start == pytest.approx(agent_start, abs=0.1)
    assert a.delivery.label == "aggressive"


def test_talking_over_for_long_is_an_interruption_even_if_the_customer_goes_on():
    a = _call([(2.0, 2.0)], [(0.5, 7.0)])  # 2 s of agent speech in the middle of the customer's turn
    assert len(_interruptions(a)) == 1


def _leaky_call(agent_parts, customer_parts, leak_db, total_s=12.0, delay_s=0.0):
    """Each channel also carries the other side ``leak_db`` down and ``delay_s`` late (a shared handset at once,
    a line echo later)."""
    agent = place(total_s, *[(t, voice(d, f0=130, syllable_hz=4, seed=i)) for i, (t, d) in enumerate(agent_parts)])
    customer = place(total_s, *[(t, voice(d, f0=210, syllable_hz=3, seed=10 + i))
                                for i, (t, d) in enumerate(customer_parts)])
    g, lag = 10 ** (leak_db / 20), round(delay_s * SR)
    late = lambda y: np.concatenate([np.zeros(lag, y.dtype), y[:y.size - lag]])  # noqa: E731
    stereo = np.stack([agent + g * late(customer) + noise(total_s, -70),
                       customer + g * late(agent) + noise(total_s, -70, seed=2)])
    return analyze_audio(from_array(stereo.astype(np.float32), SR, keep_channels=True), settings=S, stereo=LAYOUT)


@pytest.mark.parametrize("leak_db, delay_s", [(-18, 0.0), (-10, 0.0), (-18, 0.047), (-10, 0.12), (-18, 0.3)])
def test_crosstalk_of_the_other_side_is_not_talk_over(leak_db, delay_s):
    """Turns that take each other in order, each channel hearing the other 18 or 10 dB down, at once or as a line
    echo up to 0.3 s late: no talk-overs, and each side's speaking time is its own turns (without the crosstalk
    check both sides speak the whole call; a check at lag 0 only lost to echoes 20 ms late or more)."""
    a = _leaky_call([(4.2, 3.0)], [(0.5, 3.5), (7.8, 3.0)], leak_db=leak_db, delay_s=delay_s)
    assert a.stereo.talk_overs == ()
    sides = {s.side: s for s in a.stereo.sides}
    assert sides["agent"].speaking_time_s == pytest.approx(3.0, abs=0.3)
    assert sides["customer"].speaking_time_s == pytest.approx(6.5, abs=0.4)
    assert a.delivery.label == "assertive"


@pytest.mark.parametrize("delay_s", [0.0, 0.12])
def test_cutting_in_is_still_heard_through_crosstalk(delay_s):
    a = _leaky_call([(3.0, 5.0)], [(0.5, 4.5)], leak_db=-18, delay_s=delay_s)
    found = _interruptions(a)
    assert len(found) == 1 and found[0].start == pytest.approx(3.0, abs=0.1)


def test_two_channels_of_the_same_sound_are_not_a_call():
    from voicerehearse.errors import ConfigError

    mono = place(8.0, (0.5, voice(3.0, f0=130, syllable_hz=4)), (4.0, voice(3.0, f0=210, syllable_hz=3, seed=3)))
    twice = np.stack([mono + noise(8.0, -70), 0.9 * mono + noise(8.0, -70, seed=2)]).astype(np.float32)
    with pytest.raises(ConfigError, match="same sound") as caught:
        analyze_audio(from_array(twice, SR, keep_channels=True), settings=S, stereo=LAYOUT)
    assert caught.value.field == "stereo"


def test_an_agent_channel_that_records_both_sides_keeps_only_the_agent():
    """A recorder that puts the whole call on the agent's channel (the customer 3 dB down) and the customer alone
    on the other: the agent's turns are the agent's, the customer's words in the agent channel are not talk-over."""
    total_s = 12.0
    agent = place(total_s, (4.2, voice(3.0, f0=130, syllable_hz=4, seed=1)))
    customer = place(total_s, (0.5, voice(3.5, f0=210, syllable_hz=3, seed=11)),
                     (7.8, voice(3.0, f0=210, syllable_hz=3, seed=12)))
    stereo = np.stack([agent + 0.7 * customer + noise(total_s, -70), customer + noise(total_s, -70, seed=2)])
    a = analyze_audio(from_array(stereo.astype(np.float32), SR, keep_channels=True), settings=S, stereo=LAYOUT)
    sides = {s.side: s for s in a.stereo.sides}
    assert sides["agent"].speaking_time_s == pytest.approx(3.0, abs=0.3)
    assert a.stereo.talk_overs == () and _interruptions(a) == []
