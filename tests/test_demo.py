"""The bundled demo takes run through the whole analysis and get the verdicts they were made to show."""

import json

from click.testing import CliRunner

from voicerehearse.cli import main
from voicerehearse.demo import load_takes


def test_demo_takes_get_their_intended_verdicts():
    takes = load_takes()
    result = CliRunner().invoke(main, ["demo", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == len(takes) >= 8
    for take, rec in zip(takes, records):
        assert rec["delivery"]["label"] == take.intended_style, take.take.name
        turn = rec["turn"]
        assert turn["bleed_detected"]  # every take has the customer's line bleeding in
        if take.intended_style == "aggressive":
            assert turn["interrupted"] and turn["response_latency_s"] < 0
        else:
            assert not turn["interrupted"] and turn["response_latency_s"] > 0
        if take.intended_style == "passive":
            assert turn["response_latency_s"] > 2.0


def test_demo_summary_says_the_audio_is_synthetic():
    result = CliRunner().invoke(main, ["demo", "--brief"], catch_exceptions=False)
    assert result.exit_code == 0 and "synthetic" in result.output
