"""Settings are validated on load from the table itself: type, finiteness, range and relations, one line each."""

import math
import os

import pytest
from click.testing import CliRunner

from voicerehearse.cli import main
from voicerehearse.errors import ConfigError
from voicerehearse.settings import RELATIONS, SETTINGS, Settings, load_settings

NUMERIC = [s for s in SETTINGS if s.low is not None]


def test_every_number_declares_a_range_that_holds_its_default():
    assert {s.name for s in SETTINGS if isinstance(s.default, (int, float)) and not isinstance(s.default, bool)} \
        == {s.name for s in NUMERIC}
    for s in NUMERIC:
        assert s.low <= s.default <= s.high, s.name
    assert isinstance(load_settings(), Settings)


def _bad_values(s):
    span = s.high - s.low
    bad = [s.low - max(1, span), s.high + max(1, span), "ten"]
    if isinstance(s.default, float):
        bad += [math.nan, math.inf, -math.inf]
    else:
        bad.append(1.5)
    return bad


@pytest.mark.parametrize("setting", NUMERIC, ids=lambda s: s.name)
def test_each_bad_value_is_one_clear_line(setting):
    for value in _bad_values(setting):
        with pytest.raises(ConfigError) as err:
            load_settings(overrides={setting.name: value})
        message = str(err.value)
        assert setting.name in message and "\n" not in message


@pytest.mark.parametrize("small,large", RELATIONS)
def test_relations_hold(small, large):
    a, b = next(x for x in SETTINGS if x.name == small), next(x for x in SETTINGS if x.name == large)
    value = min(a.high, b.high)  # allowed for both, so only the relation is broken
    assert value >= max(a.low, b.low)
    with pytest.raises(ConfigError, match=f"{small} .* must be below {large}"):
        load_settings(overrides={small: value, large: value})


def test_the_cli_refuses_nonsense_with_one_line_and_no_traceback():
    for item in ("hop_s=0", "pitch_min_hz=0", "frame_length_s=1e9", "repeated_apology_count=0",
                 "max_duration_s=nan", "pitch_min_hz=700"):
        r = CliRunner().invoke(main, ["settings", "--set", item])
        assert r.exit_code != 0 and r.exception is None or isinstance(r.exception, SystemExit), item
        assert "Traceback" not in r.output and item.split("=")[0] in r.output, (item, r.output)


@pytest.mark.parametrize("kind", ["folder", "unreadable", "binary"])
def test_config_paths_that_are_not_toml_files_are_one_line(tmp_path, kind):
    path = tmp_path / "cfg.toml"
    if kind == "folder":
        path.mkdir()
    elif kind == "unreadable":
        path.write_text("hop_s = 0.01\n")
        path.chmod(0)
        if os.access(path, os.R_OK):  # root reads anything: make it unreadable another way
            path.chmod(0o644)
            path.unlink()
            path.mkdir()
    else:
        path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    r = CliRunner(env={"VOICEREHEARSE_CONFIG": str(path)}).invoke(main, ["settings"])
    assert r.exit_code == 1 and "Traceback" not in r.output and str(path) in r.output
