"""`import` transcribes calls: each side of a two-channel call labelled agent / customer, mono as one stream."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from voicerehearse.cli.serve import import_cmd
from voicerehearse.report import load_report
from voicerehearse.store import Store
from voicerehearse.transcribe.calls import MONO_NOTE

AGENT = "I am sorry. I will call you back tomorrow morning."
CUSTOMER = "Hello. My order never arrived and I want my money back."
SR = 16000


def _say(path, text):
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(path), text], check=True, capture_output=True)
    y, sr = sf.read(str(path), dtype="float32")
    import soxr

    return soxr.resample(y, sr, SR)


@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): it synthesises the test speech")
    folder = tmp_path_factory.mktemp("calls")
    customer, agent = _say(folder / "c.wav", CUSTOMER), _say(folder / "a.wav", AGENT)
    n = len(customer) + len(agent) + SR
    left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
    right[: len(customer)] = customer  # the customer speaks first, on channel 1
    left[len(customer) + SR // 2 : len(customer) + SR // 2 + len(agent)] = agent  # then the agent, channel 0
    noise = np.random.default_rng(1).normal(0, 1e-4, (n, 2)).astype(np.float32)
    stereo, mono = folder / "stereo.wav", folder / "mono.wav"
    sf.write(str(stereo), np.stack([left, right], axis=1) + noise, SR)
    sf.write(str(mono), left + right + noise[:, 0], SR)
    return {"stereo": stereo, "mono": mono, "agent_start": (len(customer) + SR // 2) / SR}


def _import(tmp_path, path, *extra):
    result = CliRunner().invoke(import_cmd, [str(path), "--trainee", "Robin", "--engine", "pocketsphinx",
                                             "--data-dir", str(tmp_path / "data"), *extra])
    assert result.exit_code == 0, result.output
    return result.output, load_report(Store.open(tmp_path / "data"), 1).turns[0]


def test_two_channel_call_gives_each_side_its_own_words(calls, tmp_path):
    output, turn = _import(tmp_path, calls["stereo"], "--stereo", "agent=0,customer=1")
    sides = {line.side for line in turn.call}
    assert sides == {"agent", "customer"}
    agent_words = {w.word for line in turn.call if line.side == "agent" for w in line.words}
    customer_words = {w.word for line in turn.call if line.side == "customer" for w in line.words}
    assert agent_words & {"sorry", "call", "back", "tomorrow", "morning"}, agent_words  # rough recogniser
    assert customer_words & {"hello", "order", "never", "arrived", "money", "back", "want"}, customer_words
    first_agent = min(line.start for line in turn.call if line.side == "agent")
    last_customer = max(line.end for line in turn.call if line.side == "customer")
    assert first_agent >= calls["agent_start"] - 0.3  # times are the call's, each side from its own channel
    assert last_customer <= calls["agent_start"]
    assert [line.start for line in turn.call] == sorted(line.start for line in turn.call)
    assert turn.call_rough and turn.call_note is None
    assert "agent:" in output and "customer:" in output


def test_mono_call_is_one_stream_with_a_note(calls, tmp_path):
    output, turn = _import(tmp_path, calls["mono"])
    assert {line.side for line in turn.call} == {"mixed"}
    assert turn.call_note == MONO_NOTE and MONO_NOTE in output


def test_import_without_recognition_has_no_call_transcript(calls, tmp_path):
    _, turn = _import(tmp_path, calls["mono"], "--engine", "none")
    assert turn.call == ()


def test_analyze_stereo_takes_the_agents_words_from_the_agents_channel_as_import_does(calls, tmp_path):
    import json

    from voicerehearse.cli import main
    from voicerehearse.store import Turn

    _import(tmp_path, calls["stereo"], "--stereo", "agent=0,customer=1")
    with Store.open(tmp_path / "data").session() as db:
        sides = db.query(Turn).one().analysis["call_transcript"]["sides"]
    imported = [w["word"] for side in sides if side["side"] == "agent" for w in side["words"]]
    out = CliRunner().invoke(main, ["analyze", str(calls["stereo"]), "--stereo", "agent=0,customer=1",
                                    "--engine", "pocketsphinx", "--json"])
    assert out.exit_code == 0, out.output
    analysed = [w["word"] for w in json.loads(out.output)["transcript"]["words"]]
    assert analysed == imported and analysed  # the customer's words (channel 1) are not the agent's
    assert not set(analysed) & {"hello", "order", "arrived", "money"}
