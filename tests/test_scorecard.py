"""Scorecards: automatic criteria judged from real analyses with the moment that decided them, coach answers."""

import pytest

from synth import SR, noise, place, voice
from voicerehearse.audio.io import from_array
from voicerehearse.errors import ConfigError
from voicerehearse.pipeline import analyze_audio
from voicerehearse.scorecard import RULES, load_rubric, score
from voicerehearse.settings import load_settings
from voicerehearse.types import Transcript, Word

S = load_settings()
PROMPT = voice(1.5, f0=220, seed=7)


def _reply(text, *, reply_at, engine="file"):
    """A take: the customer's line at 0.3 s, the reply (with its words) starting at ``reply_at``."""
    words = tuple(Word(w, reply_at + 0.3 * i, reply_at + 0.3 * i + 0.25) for i, w in enumerate(text.split()))
    dur = 0.3 * len(words) + 0.2
    take = place(reply_at + dur + 1.0, (0.3, 0.1 * PROMPT), (reply_at,  # the line's bleed at -20 dB
                 voice(dur, f0=150, syllable_hz=4, seed=2)))
    return analyze_audio(from_array(take + noise(take.size / SR, -70), SR), settings=S,
                         transcript=Transcript(engine, None, text, words), prompt=from_array(PROMPT, SR),
                         prompt_start_s=0.3)


def test_a_good_call_passes_once_the_coach_has_answered():
    turns = [_reply("I completely understand how annoying that is", reply_at=2.1),
             _reply("let me remove the fee and you will see it within two business days", reply_at=2.2)]
    rubric = load_rubric()
    partial = score(rubric, turns, {})
    assert not partial.complete and partial.passed is None
    by_id = {r.criterion.id: r for r in partial.results}
    assert by_id["lets-customer-finish"].points == 1.0
    assert by_id["empathy-early"].points == 1.0 and by_id["empathy-early"].turn == 1
    assert "understand" in by_id["empathy-early"].rationale and by_id["empathy-early"].start == pytest.approx(2.1)
    assert by_id["owns-next-step"].points == 1.0
    card = score(rubric, turns, {"protects-company": True, "calm-tone": 5})
    assert card.complete and card.passed and card.score_pct == 100.0


def test_interrupting_and_blaming_fail_with_the_moment():
    turns = [_reply("calm down you should have read the terms", reply_at=1.0)]  # talks over the line (0.3-1.8 s)
    card = score(load_rubric(), turns, {"protects-company": False, "calm-tone": 1})
    by_id = {r.criterion.id: r for r in card.results}
    finish = by_id["lets-customer-finish"]
    assert finish.points == 0.0 and finish.turn == 1 and finish.start == pytest.approx(1.0, abs=0.1)
    assert "talking over the customer" in finish.rationale  # people's words, not the cue's name
    assert by_id["no-blame-or-ultimatum"].points == 0.0 and "calm down" in by_id["no-blame-or-ultimatum"].rationale
    assert by_id["empathy-early"].points == 0.0
    assert card.complete and not card.passed and card.score_pct < 30


def test_rough_fallback_words_are_not_evidence():
    turns = [_reply("calm down you should have read the terms", reply_at=2.1, engine="pocketsphinx")]
    by_id = {r.criterion.id: r for r in score(load_rubric(), turns, {}).results}
    assert by_id["no-blame-or-ultimatum"].points == 1.0  # not heard reliably: not held against the agent


@pytest.mark.parametrize("body,message", [
    ('[[criterion]]\nid = "a"\ntitle = "A"\nkind = "auto"\nrule = "magic"\n', "rule must be one of"),
    ('[[criterion]]\nid = "a"\ntitle = "A"\nkind = "vibes"\n', "kind must be one of"),
    ('[[criterion]]\nid = "a"\ntitle = "A"\nkind = "auto"\nrule = "absent"\n', "needs cues"),
    ('pass_mark_pct = 170\n[[criterion]]\nid = "a"\ntitle = "A"\nkind = "yes_no"\n', "0-100"),
    ('name = "empty"\n', "at least one"),
])
def test_rubric_errors_name_the_file_and_field(tmp_path, body, message):
    path = tmp_path / "mine.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message) as err:
        load_rubric(path)
    assert "mine.toml" in str(err.value) or "rubric" in str(err.value)


def test_answers_of_the_wrong_kind_are_refused():
    rubric = load_rubric()
    with pytest.raises(ConfigError, match="1 to 5"):
        score(rubric, [], {"calm-tone": 9})
    with pytest.raises(ConfigError, match="yes or no"):
        score(rubric, [], {"protects-company": 3})


def test_every_bundled_rule_is_used_by_the_default_rubric():
    assert {c.rule for c in load_rubric().criteria if c.kind == "auto"} == set(RULES)
