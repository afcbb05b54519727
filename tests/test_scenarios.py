"""Scenario packs: the built-ins, user folders and validation errors (one line naming file and field)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voicerehearse.analysis.lexicon import CATEGORIES
from voicerehearse.cli.practice import scenarios as scenarios_cmd
from voicerehearse.scenarios import SCENARIOS_ENV, ScenarioError, find_scenario, load_pack, load_scenarios

REQUIRED = {"late-fee-waiver", "return-without-receipt", "angry-online-order", "software-support",
            "outbound-good-time", "wants-a-manager", "manager-right-now", "transferred-around"}
GOOD = '''title = "Mine"
difficulty = "medium"

[[turns]]
customer = "Where is my parcel?"
goal = "Own it."
expect = ["ownership"]
avoid = ["blame"]
'''


def test_builtin_packs_are_valid_and_complete():
    found = {s.id: s for s in load_scenarios(user_dirs=(), env={})}
    assert REQUIRED <= set(found)
    names = {c.name for c in CATEGORIES}
    for s in found.values():
        assert s.builtin and s.turns and s.difficulty in ("easy", "medium", "hard")
        assert s.briefing and s.summary
        for t in s.turns:
            assert t.customer and t.goal and t.expect
            assert set(t.expect) | set(t.avoid) <= names
    assert found["outbound-good-time"].call == "outbound"
    assert "open_question" in found["wants-a-manager"].turns[0].expect


def _pack(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "field", "message"), [
    ("title = [", "", "not valid TOML"),
    (GOOD.replace('title = "Mine"\n', ""), "title", "missing"),
    (GOOD.replace('title = "Mine"', "title = 3"), "title", "non-empty string"),
    (GOOD.replace('"medium"', '"brutal"'), "difficulty", "easy, medium, hard"),
    (GOOD + 'call = "sideways"\n', "", "unknown field"),
    ('call = "sideways"\n' + GOOD, "call", "inbound, outbound"),
    ('id = "has space"\n' + GOOD, "id", "letters, digits"),
    ('colour = "red"\n' + GOOD, "colour", "unknown field"),
    (GOOD.split("[[turns]]")[0], "turns", "at least one"),
    (GOOD.replace('customer = "Where is my parcel?"\n', ""), "turns[1].customer", "missing"),
    (GOOD.replace('customer = "Where is my parcel?"', 'customer = "  "'), "turns[1].customer", "non-empty"),
    (GOOD.replace('["ownership"]', '["ownershp"]'), "turns[1].expect", "unknown cue 'ownershp'"),
    (GOOD.replace('["blame"]', '"blame"'), "turns[1].avoid", "list of cue names"),
    (GOOD.replace('["blame"]', '["ownership"]'), "turns[1].avoid", "also in expect"),
    (GOOD + 'audio = "missing.wav"\n', "turns[1].audio", "file not found"),
    (GOOD + 'mood = "angry"\n', "turns[1].mood", "unknown field"),
    (GOOD + 'branches = [{ when = "furious", goto = "x" }]\n', "turns[1].branches[1].when", "unknown 'furious'"),
    (GOOD + 'branches = [{ when = "aggressive", goto = "nowhere" }]\n', "turns[1].branches[1].goto", "no turn has the id"),
    (GOOD + 'branches = [{ when = "aggressive" }]\n', "turns[1].branches[1]", "exactly one of goto"),
    (GOOD + 'branches = [{ when = "aggressive", end = "happy" }]\n', "turns[1].branches[1].end", "resolved, escalated"),
    (GOOD + 'branches = [{ when = "aggressive", goto = "turn-1", colour = 1 }]\n', "turns[1].branches[1].colour", "unknown field"),
    (GOOD + 'next = "later"\n', "turns[1].next", "no turn has the id 'later'"),
    (GOOD + 'end = "won"\n', "turns[1].end", "resolved, escalated, hung_up"),
    (GOOD + 'timeout_s = 0\n', "turns[1].timeout_s", "from 1 to 600"),
    (GOOD + 'model_lines = "Say sorry."\n', "turns[1].model_lines", "list of non-empty strings"),
    (GOOD + 'id = "a"\n' + GOOD.split("\n\n", 1)[1] + 'id = "a"\n', "turns[2].id", "already used by turns[1]"),
])
def test_validation_errors_name_file_and_field(tmp_path, text, field, message):
    path = _pack(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        load_pack(path)
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(f"{path}: ")
    if field:
        assert f": {field}: " in line
    assert message in line


def test_missing_pack_file(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario pack"):
        load_pack(tmp_path / "nope.toml")


def test_turn_audio_is_resolved_against_the_pack(tmp_path):
    (tmp_path / "lines").mkdir()
    (tmp_path / "lines" / "one.wav").write_bytes(b"")
    s = load_pack(_pack(tmp_path, GOOD + 'audio = "lines/one.wav"\n'))
    assert s.turns[0].audio == (tmp_path / "lines" / "one.wav").resolve()
    assert s.id == "mine" and s.call == "inbound" and not s.builtin


def test_user_folder_from_env_adds_and_replaces_packs(tmp_path):
    _pack(tmp_path, GOOD)
    _pack(tmp_path, 'id = "late-fee-waiver"\n' + GOOD, "override.toml")
    found = {s.id: s for s in load_scenarios(env={SCENARIOS_ENV: str(tmp_path)})}
    assert "mine" in found and REQUIRED <= set(found)
    assert found["late-fee-waiver"].title == "Mine"
    assert find_scenario("mine", env={SCENARIOS_ENV: str(tmp_path)}).title == "Mine"


def test_duplicate_ids_in_one_folder(tmp_path):
    _pack(tmp_path, GOOD, "a.toml")
    _pack(tmp_path, 'id = "a"\n' + GOOD, "b.toml")
    with pytest.raises(ScenarioError, match="id: 'a' is already used"):
        load_scenarios(user_dirs=[tmp_path])


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'.*late-fee-waiver"):
        find_scenario("nope", user_dirs=())


def test_find_by_pack_path(tmp_path):
    assert find_scenario(str(_pack(tmp_path, GOOD))).title == "Mine"


def test_scenarios_command_lists_builtin_and_user_packs(tmp_path):
    _pack(tmp_path, GOOD)
    result = CliRunner().invoke(scenarios_cmd, ["--scenarios-dir", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    for sid in REQUIRED | {"mine"}:
        assert sid in result.output
    assert "built-in" in result.output


def test_scenarios_command_bad_pack_is_one_line(tmp_path):
    _pack(tmp_path, GOOD.replace('"medium"', '"brutal"'))
    result = CliRunner().invoke(scenarios_cmd, ["--scenarios-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: {tmp_path / 'mine.toml'}: difficulty: must be one of "
                                                   "easy, medium, hard, got 'brutal'"]


def test_missing_user_folder(tmp_path):
    with pytest.raises(ScenarioError, match="scenario folder not found"):
        load_scenarios(user_dirs=[tmp_path / "nope"])


BRANCHY = GOOD + '''id = "ask"
branches = [{ when = "aggressive", goto = "angry" }, { when = "empathy", end = "resolved" }, { when = "silence", end = "hung_up" }]
next = "last"

[[turns]]
id = "angry"
customer = "Don't talk to me like that."
end = "escalated"

[[turns]]
id = "last"
customer = "Okay then."
'''


def test_branches_follow_the_verdict_cues_and_events_in_order(tmp_path):
    s = load_pack(_pack(tmp_path, BRANCHY))
    ask = s.turn("ask")
    assert s.follow(ask, {"aggressive", "empathy"}) == (s.turn("angry"), None)  # the first matching branch wins
    assert s.follow(ask, {"assertive", "empathy"}) == (None, "resolved")
    assert s.follow(ask, {"silence"}) == (None, "hung_up")
    assert s.follow(ask, {"passive"}) == (s.turn("last"), None)  # no branch: the turn's next
    assert s.follow(s.turn("angry"), {"assertive"}) == (None, "escalated")  # the turn's own end
    assert s.follow(s.turn("last"), {"assertive"}) == (None, "resolved")  # out of turns


def test_every_builtin_call_can_end_and_every_turn_can_be_reached():
    for s in load_scenarios(user_dirs=(), env={}):
        reached, todo, ends = set(), [s.turns[0]], set()
        while todo:
            t = todo.pop()
            if t.id in reached:
                continue
            reached.add(t.id)
            heards = [{w} for w in ("aggressive", "passive", "assertive", "silence", "interrupted",
                                    *{b.when for b in t.branches})]
            for heard in heards:
                nxt, end = s.follow(t, heard)
                if nxt is not None:
                    todo.append(nxt)
                else:
                    ends.add(end)
        assert reached == {t.id for t in s.turns}, s.id
        assert len(ends) >= 2 and ends <= {"resolved", "escalated", "hung_up"}, (s.id, ends)
        assert any(t.branches for t in s.turns), s.id


def test_a_pack_can_name_the_rubric_its_calls_are_scored_with(tmp_path):
    top, turns = GOOD.split("[[turns]]", 1)
    s = load_pack(_pack(tmp_path, top + 'rubric = "service-call"\n\n[[turns]]' + turns))
    assert s.rubric == "service-call"
    assert load_pack(_pack(tmp_path, GOOD)).rubric is None
    with pytest.raises(ScenarioError, match="rubric: must name"):
        load_pack(_pack(tmp_path, top + "rubric = 3\n\n[[turns]]" + turns))
