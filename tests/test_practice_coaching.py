"""Rehearsal that coaches, end to end through PortAudio and the ALSA virtual microphone (in subprocesses):
hesitant replies recorded whole, the live talk-over warning, retries as takes, branches, one turn numbering."""

from __future__ import annotations

import re

import pytest
import soundfile as sf
from sqlalchemy import select

from synth import SR, place
from test_practice_support import customer, run_cli, trainee, virtual_mic, write_pack
from voicerehearse.store import PracticeSession, Store, Turn


def _turns(data_dir):
    store = Store.open(data_dir)
    with store.session() as db:
        session = db.scalars(select(PracticeSession)).one()
        turns = db.scalars(select(Turn).where(Turn.session_id == session.id).order_by(Turn.index, Turn.id)).all()
        return store, session, turns


def _run(tmp, prompts, replies: dict[str, object], *extra, pack_text: str | None = None):
    pack = write_pack(tmp / "packs", prompts)
    if pack_text is not None:
        pack.write_text(pack_text)
    folder = tmp / "replies"
    folder.mkdir()
    for name, y in replies.items():
        sf.write(folder / f"{name}.wav", y, SR)
    env = virtual_mic(tmp / "mic")
    out = run_cli("practice", [pack, "--replies", folder, "--data-dir", tmp / "data", "--engine", "none",
                               "--skip-calibration", *extra], env)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def test_a_hesitant_reply_with_a_two_second_pause_is_recorded_whole(tmp_path):
    # "Um, sorry." (0.7 s) after the line, then 2 s of silence, then the rest of the reply (4 s): default settings
    reply = place(12.0, (2.8, trainee(0.7, seed=1)), (5.5, trainee(4.0, seed=2)))
    out = _run(tmp_path, [customer(seed=4)], {"turn-1": reply})
    _, _, (turn,) = _turns(tmp_path / "data")
    segments = turn.analysis["speech"]["segments"]
    assert segments[-1]["end"] == pytest.approx(9.5, abs=0.1)  # the words after the pause are in the take
    assert turn.duration_s == pytest.approx(9.5 + 1.6, abs=0.15)  # then the plain pause ends it
    assert "after a pause" in out.stdout


def test_talking_over_the_customer_shows_the_live_warning_and_one_coaching_point(tmp_path):
    reply = place(6.0, (1.0, trainee(2.5, seed=3)))  # starts 1.3 s before the 2 s line ends
    out = _run(tmp_path, [customer(seed=4)], {"turn-1": reply})
    assert out.stdout.count("you're talking over the customer") == 1
    assert out.stdout.count("Talking over the customer") == 1
    assert "Talked over" not in out.stdout  # the verdict's internal message is not repeated beside it


BRANCHING = '''id = "branching"
title = "Branching call"
difficulty = "easy"

[[turns]]
id = "opening"
customer = "Customer line 1."
audio = "customer-1.wav"
model_lines = ["I'm sorry about that, let me fix it now."]
branches = [{ when = "interrupted", goto = "upset" }]
next = "calm"

[[turns]]
id = "calm"
customer = "Customer line 2."
audio = "customer-2.wav"
end = "resolved"

[[turns]]
id = "upset"
customer = "Customer line 3."
audio = "customer-3.wav"
end = "escalated"
'''


@pytest.mark.parametrize(("first", "line", "outcome"), [
    (place(6.0, (1.0, trainee(2.5, seed=3))), "Customer line 3.", "escalated"),  # talks over: the customer is upset
    (place(2.5, (0.0, trainee(2.0, seed=3))), "Customer line 2.", "resolved"),  # waits (--reply-at below)
])
def test_the_customer_reacts_to_the_reply(tmp_path, first, line, outcome):
    prompts = [customer(seed=i) for i in (1, 2, 3)]
    second = place(2.5, (0.0, trainee(2.0, seed=5)))
    extra = () if outcome == "escalated" else ("--reply-at", "prompt-end+0.4")
    if outcome == "escalated":
        second = place(5.0, (2.9, trainee(2.0, seed=5)))
    out = _run(tmp_path, prompts, {"turn-1": first, "turn-2": second}, *extra, pack_text=BRANCHING)
    _, _, turns = _turns(tmp_path / "data")
    assert [t.customer_text for t in turns] == ["Customer line 1.", line]
    assert turns[-1].analysis["practice"]["outcome"] == outcome
    assert f"Call ended: {'escalated to a supervisor' if outcome == 'escalated' else 'resolved'}" in out.stdout


def test_reply_at_places_the_reply_after_the_customer_line(tmp_path):
    reply = place(2.0, (0.0, trainee(1.5, seed=6)))  # speaks at once: placed 0.3 s after the line ends
    _run(tmp_path, [customer(seed=4)], {"turn-1": reply}, "--reply-at", "prompt-end+0.3")
    _, _, (turn,) = _turns(tmp_path / "data")
    assert turn.analysis["turn"]["response_latency_s"] == pytest.approx(0.3, abs=0.06)
    assert turn.interrupted is False


def test_a_retry_is_a_second_take_of_the_same_turn_and_numbers_agree_everywhere(tmp_path):
    from voicerehearse.report import load_report, write_html, write_json, write_vtt

    prompts = [customer(seed=i) for i in (1, 2)]
    first = place(6.0, (1.0, trainee(2.5, seed=3)))  # barges in
    again = place(6.0, (2.8, trainee(2.0, seed=7)))  # waits
    out = _run(tmp_path, prompts, {"turn-1": first, "turn-1-take-2": again,
                                   "turn-2": place(6.0, (2.8, trainee(2.0, seed=8)))})
    store, session, turns = _turns(tmp_path / "data")
    # two takes of turn 1, both kept: each its own row, the take number in the record
    assert [(t.index, t.analysis["practice"]["turn"], t.analysis["practice"]["take"]) for t in turns] == \
        [(0, 1, 1), (0, 1, 2), (1, 2, 1)]
    assert [t.interrupted for t in turns] == [True, False, False]
    assert len({t.audio_path for t in turns}) == 3 and all(store.resolve_audio(t.audio_path).is_file() for t in turns)
    # one numbering: the terminal, the store (index + 1), the exports
    shown = sorted(set(int(n) for n in re.findall(r"Turn (\d+): your reply", out.stdout)))
    assert shown == [1, 2] and "(take 2)" in out.stdout
    stored = sorted({t.index + 1 for t in turns})
    report = load_report(store, session.id)
    html = sorted({int(n) for n in re.findall(r"<h2>Turn (\d+)", write_html(report))})
    vtt = sorted({int(n) for n in re.findall(r"NOTE turn (\d+)", write_vtt(report))})
    assert shown == stored == html == vtt
    assert sorted({t["index"] + 1 for t in __import__("json").loads(write_json(report))["turns"]}) == shown
