"""Scenario packs: the built-ins, user folders and validation errors (one line naming file and field)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voicerehearse.analysis.lexicon import CATEGORIES
from voicerehearse.cli.practice import scenarios as scenarios_cmd
from voicerehearse.scenarios import SCENARIOS_ENV, ScenarioError, find_scenario, load_pack, load_scenarios

REQUIRED = {"late-fee-waiver", "return-without-receipt", "angry-online-order", "software-support",
            "outbound-good-time", "wants-a-manager"}
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
