"""The live verdict: timed from the reply's end, ready when it ends, and the same as an offline analysis.

Through PortAudio and the ALSA virtual microphone (in subprocesses, the device paced in real time where the
pace matters), except the timer's own bookkeeping, checked on a fake clock.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select

from synth import SR, place
from test_practice_support import blocks_of, customer, run_cli, run_python, trainee, virtual_mic, write_pack
from voicerehearse import rehearsal
from voicerehearse.rehearsal import RehearsalOptions, run_session
from voicerehearse.scenarios import load_pack
from voicerehearse.settings import load_settings
from voicerehearse.store import Store, Turn
from voicerehearse.types import Transcript, Word

DELAY = re.compile(r"verdict (\d+\.\d+) s after your reply")


def _scripted(tmp, reply, *extra, clocked=True, engine="none"):
    pack = write_pack(tmp / "packs", [customer(seed=3, duration_s=1.0)])
    replies = tmp / "replies"
    replies.mkdir()
    sf.write(replies / "turn-1.wav", reply, SR)
    env = virtual_mic(tmp / "mic")
    out = run_cli("practice", [pack, "--replies", replies, "--data-dir", tmp / "data", "--engine", engine,
                               "--skip-calibration", "--reply-at", "prompt-end+0.3", *extra], env, clocked=clocked)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


@pytest.mark.slow  # PortAudio through the virtual microphone
def test_the_delay_shown_is_counted_from_the_end_of_the_reply(tmp_path):
    """The reply ends after 1.6 s of silence; the figure is what follows that, not the silence itself."""
    out = _scripted(tmp_path, place(3.0, (0.0, trainee(2.5))), "--end-silence", "1.6")
    (delay,) = [float(d) for d in DELAY.findall(out.stdout)]
    assert 0.0 < delay < 1.6
    assert "(after a pause)" in out.stdout


class _Clock:
    """time.monotonic for the session: advanced only by the fake device (a block's duration per block) and by
    the fake recogniser when it is asked to finish."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


def test_the_delay_includes_waiting_for_the_recogniser(tmp_path, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr("voicerehearse.rehearsal.take.time", SimpleNamespace(monotonic=clock.monotonic))
    reply = place(6.0, (1.5, trainee(2.5)))

    @contextmanager
    def open_blocks(options, prompt, reply_path):
        def paced():
            for block in blocks_of(reply):
                clock.now += block.shape[0] / SR
                yield block
        yield rehearsal.InputFeed(paced(), None)

    class Words:  # the recogniser still busy when the reply ends: 2.5 s to catch up
        partial, error = None, None

        def feed(self, block):
            pass

        def finish(self):
            clock.now += 2.5
            return Transcript("pocketsphinx", "test", "hello", (Word("hello", 1.6, 2.0, 1.0),))

    class Worker:
        def start_take(self, sample_rate):
            return Words()

        def close(self):
            pass

    shown = []

    class View(rehearsal.NullView):
        def turn_done(self, step, analysis, record, verdict_after_s, coaching):
            shown.append(verdict_after_s)

    monkeypatch.setattr("voicerehearse.rehearsal.take.open_blocks", open_blocks)
    monkeypatch.setattr("voicerehearse.rehearsal.session.start_recognition", lambda choice, options: Worker())
    scenario = load_pack(write_pack(tmp_path / "packs", [customer(seed=2, duration_s=1.0)]))
    run_session(Store.open(tmp_path / "data"), scenario, "Dana", RehearsalOptions(engine="pocketsphinx", speak=False),
                settings=load_settings(), view=View())
    assert shown == [pytest.approx(2.5)]  # from the last block, recogniser included; nothing else moved the clock


DRIVER = """
import json, sys
from pathlib import Path
from voicerehearse import rehearsal
from voicerehearse.rehearsal import RehearsalOptions, run_session
from voicerehearse.scenarios import load_pack
from voicerehearse.settings import load_settings
from voicerehearse.store import Store

seen = []
class View(rehearsal.NullView):
    def progress(self, p, partial, provisional):
        if p.reply_heard and provisional is not None:
            seen.append([round(p.elapsed_s, 2), provisional.delivery.label, id(provisional)])
    def take_end(self, result):
        seen.append(["end", round(result.duration_s, 2), None])

pack, replies, data = sys.argv[1:4]
options = RehearsalOptions(speak=False, replies=Path(replies), engine="none")
run_session(Store.open(Path(data)), load_pack(Path(pack)), "Dana", options, settings=load_settings(), view=View())
print(json.dumps(seen))
"""


@pytest.mark.slow  # PortAudio through the virtual microphone
def test_a_provisional_verdict_is_kept_up_to_date_during_a_long_reply(tmp_path):
    speech_end_s = 1.3 + 8.0  # the customer's line ends at 1.3 s; the reply speaks from there for 8 s
    pack = write_pack(tmp_path / "packs", [customer(seed=3, duration_s=1.0)])
    replies = tmp_path / "replies"
    replies.mkdir()
    sf.write(replies / "turn-1.wav", place(speech_end_s + 0.5, (1.3, trainee(8.0))), SR)
    out = run_python(DRIVER, [pack, replies, tmp_path / "data"], virtual_mic(tmp_path / "mic"), clocked=True)
    assert out.returncode == 0, out.stdout + out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen[-1][0] == "end" and seen[-1][1] > speech_end_s
    during = [(t, label, run) for t, label, run in seen[:-1] if t < speech_end_s]
    assert during, "no provisional verdict while the trainee spoke"
    assert during[-1][1] in ("assertive", "aggressive", "passive")  # a verdict on the speech so far
    assert len({run for _, _, run in during}) >= 3  # renewed as the reply goes on, not computed once


@pytest.mark.slow  # PortAudio through the virtual microphone
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/setup.sh)")
def test_the_stored_analysis_is_what_analyze_gives_on_the_stored_take(tmp_path):
    from voicerehearse.audio.io import resample
    from voicerehearse.pipeline import analyze_file
    from voicerehearse.schema import analysis_from_record, analysis_record

    wav = tmp_path / "spoken.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav),
                    "I understand. Let me fix that for you today, and I will call you back by five."], check=True)
    speech, sr = sf.read(wav, dtype="float32")
    speech = resample(speech, orig_sr=sr, target_sr=SR) * 0.5
    _scripted(tmp_path, place(speech.size / SR + 0.2, (0.0, speech)), engine="auto", clocked=False)
    store = Store.open(tmp_path / "data")
    with store.session() as db:
        turn = db.scalars(select(Turn)).one()
        stored, audio, prompt_start_s = turn.analysis, turn.audio_path, turn.prompt_start_s
    words = analysis_from_record(stored).transcript
    assert words is not None and words.words and words.engine == "pocketsphinx"  # the live words
    take = store.resolve_audio(audio)
    offline = analysis_record(analyze_file(take, settings=load_settings(), transcript=words,
                                           prompt_path=take.with_name("turn-01-customer.wav"),
                                           prompt_start_s=prompt_start_s))
    for record in (offline, stored):
        record.pop("file")
        record.pop("practice", None)
    assert offline == stored


def test_utterance_words_are_placed_in_take_time_and_long_ones_cut_for_a_slow_decoder(monkeypatch):
    from voicerehearse import live
    from voicerehearse.transcribe import engine

    calls = []
    clock = {"now": 0.0, "rtf": 0.5}  # the decoder's speed: seconds of decoding per second of audio

    def fake_transcribe(blocks, *, sample_rate, engine):  # one word 0.1 s into every utterance it is given
        frames = sum(b.shape[0] for b in blocks)
        calls.append(frames / sample_rate)
        clock["now"] += clock["rtf"] * frames / sample_rate
        return Transcript("pocketsphinx", "test", "w", (Word("w", 0.1, 0.2, 1.0),))

    monkeypatch.setattr(engine, "transcribe_blocks", fake_transcribe)
    monkeypatch.setattr(live, "time", SimpleNamespace(perf_counter=lambda: clock["now"]))
    template = Transcript("pocketsphinx", "test", "", ())
    y = place(12.0, (1.0, trainee(1.0)), (4.0, trainee(6.0)))  # a short burst, then 6 s without a pause
    blocks = [np.asarray(b) for b in blocks_of(y)]
    kw = dict(choice=None, sample_rate=SR, template=template, level_dbfs_min=-42.0)
    paused = live.transcribe_utterances(blocks, **kw, max_s=12.0)
    assert [w.start for w in paused.words] == [pytest.approx(1.0 - live.LEAD_S + 0.1, abs=0.06),
                                               pytest.approx(4.0 - live.LEAD_S + 0.1, abs=0.06)]
    calls.clear()
    live.transcribe_utterances(blocks, **kw, budget_s=1.35, pace={"rtf": 0.5})  # 6 s would take 3 s to decode
    assert max(calls) <= 1.5 * 1.35 / 0.5 and len(calls) >= 4
    calls.clear()
    clock["rtf"] = 1.2
    live.transcribe_utterances(blocks, **kw, budget_s=1.35, pace={"rtf": 1.2})  # slower than real time anyway
    assert len(calls) == 2
