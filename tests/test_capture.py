"""Capture without a device: end-of-reply detection, the crash-safe writer, disk full, mixing, prompts."""

from __future__ import annotations

import errno
import json
import os
import threading

import numpy as np
import pytest
import soundfile as sf

from synth import SR, place, voice
from test_practice_support import BLOCK, blocks_of, fill_disk_after
from voicerehearse.audio import takes as takes_mod
from voicerehearse.audio.pcm import level_dbfs
from voicerehearse.audio.reply_end import ReplyEnd, mix_in, record_take
from voicerehearse.audio.takes import (
    PART_SUFFIX, SIDECAR_SUFFIX, TakeStorageError, TakeWriter, finalise_part, pending_takes, recover_takes,
)
from voicerehearse.audio.playback import PromptSource, cue_tone, espeak_available, prompt_audio
from voicerehearse.errors import DeviceError



def take(tmp_path, y, **kw):
    writer = TakeWriter(tmp_path / "take", sample_rate=SR, meta={"kind": "test"})
    kw.setdefault("prompt_end_frame", 0)
    result = record_take(blocks_of(y), writer, sample_rate=SR, **kw)
    return writer, result


def test_reply_ends_after_trailing_silence_counted_in_samples(tmp_path):
    y = place(10.0, (1.0, voice(3.0, syllable_hz=4)))
    writer, result = take(tmp_path, y, end=ReplyEnd(end_silence_s=1.0))
    assert result.reason == "silence" and result.reply_heard
    # speech ends at 4.0 s; the last loud block is within one block of it, then 1 s of silence
    assert result.duration_s == pytest.approx(5.0, abs=2 * BLOCK / SR)
    assert writer.frames == result.frames


HESITANT = ReplyEnd(end_silence_s=1.5, hesitation_silence_s=4.0, short_speech_s=2.0, filler_burst_s=0.8)


def test_a_hesitant_start_with_a_two_second_pause_is_recorded_whole(tmp_path):
    # "Um, sorry." (0.8 s), a 2 s pause, then the real reply (4 s), then silence
    y = place(14.0, (1.0, voice(0.8, syllable_hz=4)), (3.8, voice(4.0, syllable_hz=4)))
    _, result = take(tmp_path, y, end=HESITANT)
    assert result.reason == "silence"
    assert result.duration_s == pytest.approx(7.8 + 1.5, abs=2 * BLOCK / SR)  # the plain pause ends it after all


def test_a_lone_filler_after_speech_extends_the_pause(tmp_path):
    # a finished-sounding 3 s, a short "um" (0.4 s), then 2.5 s of silence before going on
    y = place(16.0, (0.5, voice(3.0, syllable_hz=4)), (4.3, voice(0.4)), (7.2, voice(3.0, syllable_hz=4)))
    _, result = take(tmp_path, y, end=HESITANT)
    assert result.duration_s == pytest.approx(10.2 + 1.5, abs=2 * BLOCK / SR)


def test_an_open_sentence_waits_and_a_closed_one_ends(tmp_path):
    y = place(14.0, (0.5, voice(3.0, syllable_hz=4)), (6.0, voice(3.0, syllable_hz=4)))  # 2.5 s pause inside
    _, closed = take(tmp_path, y, end=HESITANT, sentence_open=lambda: False)
    _, open_ = take(tmp_path / "b", y, end=HESITANT, sentence_open=lambda: True)
    assert closed.duration_s == pytest.approx(3.5 + 1.5, abs=2 * BLOCK / SR)
    assert open_.duration_s == pytest.approx(9.0 + 4.0, abs=2 * BLOCK / SR)


def test_the_pause_countdown_and_the_live_nudges(tmp_path):
    seen = []
    y = place(12.0, (1.0, voice(1.5)), (3.5, voice(0.6)))  # talks over the line (ends 2.0 s), hesitates
    _, result = take(tmp_path, y, prompt_end_frame=2 * SR, end=HESITANT, on_block=lambda b, p: seen.append(p))
    over = [p.elapsed_s for p in seen if p.talking_over]
    assert over and min(over) == pytest.approx(1.0 + 0.15, abs=2 * BLOCK / SR) and max(over) <= 2.0
    assert result.talk_over_s == pytest.approx(0.85, abs=2 * BLOCK / SR)
    counting = [p for p in seen if p.ends_in_s is not None]
    assert counting and all(p.hesitant for p in counting)
    assert counting[-1].ends_in_s == 0.0 and counting[0].ends_in_s == pytest.approx(4.0, abs=BLOCK / SR)
    take(tmp_path / "w", np.zeros(6 * SR, np.float32), prompt_end_frame=SR, end=ReplyEnd(no_reply_s=4.0),
         on_block=lambda b, p: seen.append(p))
    assert seen[-1].waiting_s == pytest.approx(4.0) and not seen[-1].reply_heard


def test_a_key_during_the_customer_line_does_not_end_the_take(tmp_path):
    stop = threading.Event()
    stop.set()  # e.g. a second Enter press left over from the last reply
    _, result = take(tmp_path, np.zeros(6 * SR, np.float32), prompt_end_frame=3 * SR, stop=stop,
                     end=ReplyEnd(no_reply_s=1.0))
    assert result.reason == "no reply" and result.duration_s == 4.0 and not stop.is_set()


def test_no_reply_and_max_reply_limits(tmp_path):
    _, result = take(tmp_path, np.zeros(SR * 20, np.float32), prompt_end_frame=SR, end=ReplyEnd(no_reply_s=3.0))
    assert (result.reason, result.duration_s, result.reply_heard) == ("no reply", 4.0, False)
    _, result = take(tmp_path / "b", voice(20.0), end=ReplyEnd(max_reply_s=2.5))
    assert result.reason == "max" and result.duration_s == pytest.approx(2.5, abs=BLOCK / SR)


def test_the_take_never_ends_while_the_customer_speaks(tmp_path):
    y = np.zeros(SR * 6, np.float32)
    _, result = take(tmp_path, y, prompt_end_frame=4 * SR, end=ReplyEnd(no_reply_s=1.0))
    assert result.duration_s == 5.0


def test_with_speakers_the_line_echo_is_not_a_reply(tmp_path):
    # loud only while the customer's line plays (bleed), then silence: no reply heard
    y = place(8.0, (0.0, voice(2.0, level_db=-25)))
    _, result = take(tmp_path, y, prompt_end_frame=2 * SR, headset=False, end=ReplyEnd(no_reply_s=3.0))
    assert result.reason == "no reply" and not result.reply_heard


def test_key_press_ends_the_take(tmp_path):
    stop = threading.Event()
    seen = []

    def on_block(block, progress):
        seen.append(progress)
        if progress.elapsed_s >= 1.0:
            stop.set()

    _, result = take(tmp_path, voice(10.0), stop=stop, on_block=on_block)
    assert result.reason == "key" and result.duration_s == 1.0
    assert seen[-1].frame == SR and seen[0].phase == "reply" and seen[-1].speaking


def test_writer_keeps_raw_pcm_and_sidecar_until_finalised(tmp_path):
    y = voice(1.0, syllable_hz=3)
    writer = TakeWriter(tmp_path / "t", sample_rate=SR, meta={"turn": 2})
    for b in blocks_of(y):
        writer.write(b)
    part, sidecar = tmp_path / ("t" + PART_SUFFIX), tmp_path / ("t" + SIDECAR_SUFFIX)
    assert part.stat().st_size == 2 * SR  # on disk as captured, not held in memory
    meta = json.loads(sidecar.read_text())
    assert meta["sample_rate"] == SR and meta["turn"] == 2 and meta["format"] == "s16le"
    writer.update(prompt_end_s=1.5)
    assert json.loads(sidecar.read_text())["prompt_end_s"] == 1.5
    wav, meta = writer.finalise()
    assert not part.exists() and not sidecar.exists()
    data, sr = sf.read(wav, dtype="int16")
    assert sr == SR and np.array_equal(data, np.concatenate(blocks_of(y)))
    assert meta["frames"] == SR


def test_writer_syncs_at_least_every_quarter_second_of_audio(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    writer = TakeWriter(tmp_path / "t", sample_rate=SR)
    monkeypatch.setattr(takes_mod.os, "fsync", lambda fd: (synced.append(writer.frames), real_fsync(fd)))
    for b in blocks_of(voice(3.0)):
        writer.write(b)
    gaps = np.diff([0, *synced])
    assert len(synced) >= 12 and gaps.max() <= 0.25 * SR + BLOCK
    writer.close()


def test_disk_full_stops_with_a_clear_error_and_keeps_what_was_written(tmp_path, monkeypatch):
    writer = TakeWriter(tmp_path / "t", sample_rate=SR)
    fill_disk_after(monkeypatch, 20)
    with pytest.raises(TakeStorageError, match="the disk is full"):
        record_take(blocks_of(voice(5.0)), writer, sample_rate=SR, prompt_end_frame=0)
    monkeypatch.undo()
    assert writer.frames == 20 * BLOCK
    wav, _ = writer.finalise()
    assert sf.info(wav).frames == 20 * BLOCK


def test_device_error_mid_take_keeps_the_audio(tmp_path):
    def failing():
        yield from blocks_of(voice(1.0))
        raise DeviceError("the input device stopped (unplugged?)")

    writer = TakeWriter(tmp_path / "t", sample_rate=SR)
    with pytest.raises(DeviceError):
        record_take(failing(), writer, sample_rate=SR, prompt_end_frame=0)
    wav, _ = writer.finalise()
    assert sf.info(wav).frames == SR


def test_recovery_finalises_parts_but_not_takes_being_written(tmp_path):
    done = TakeWriter(tmp_path / "a" / "crashed", sample_rate=SR, meta={"kind": "turn", "turn": 1})
    for b in blocks_of(voice(0.5)):
        done.write(b)
    os.close(done._fd)  # what a SIGKILL leaves: the lock goes with the process
    done._fd = None
    with open(tmp_path / "a" / ("odd" + PART_SUFFIX), "wb") as f:
        f.write(b"\x01\x00" * 100 + b"\x07")  # a half-written last sample and no sidecar
    busy = TakeWriter(tmp_path / "busy", sample_rate=SR)
    busy.write(np.zeros(BLOCK, np.int16))
    assert [p.name for p in pending_takes(tmp_path)] == ["crashed" + PART_SUFFIX, "odd" + PART_SUFFIX]
    recovered = {r.wav.name: r for r in recover_takes(tmp_path)}
    assert recovered["crashed.wav"].duration_s == 0.5 and recovered["crashed.wav"].meta["turn"] == 1
    assert recovered["odd.wav"].meta["frames"] == 100 and "sidecar missing" in recovered["odd.wav"].meta["note"]
    assert (tmp_path / ("busy" + PART_SUFFIX)).exists()
    busy.close()


def test_finalise_part_failure_is_a_storage_error(tmp_path, monkeypatch):
    writer = TakeWriter(tmp_path / "t", sample_rate=SR)
    writer.write(np.zeros(BLOCK, np.int16))
    writer.close()

    def boom(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(takes_mod.os, "replace", boom)
    with pytest.raises(TakeStorageError, match="disk is full"):
        finalise_part(writer.part)
    assert writer.part.exists()  # still recoverable later


def test_mix_in_adds_a_reply_from_the_first_frame():
    mic = [np.full(4, 100, np.int16), np.full(4, 100, np.int16)]
    out = list(mix_in(mic, np.full(6, 1000 / 32768, np.float32)))
    assert out[0].tolist() == [1100] * 4 and out[1].tolist() == [1100, 1100, 100, 100]


def test_level():
    assert level_dbfs(np.zeros(10, np.float32)) == -120.0
    assert level_dbfs(np.full(100, 16384, np.int16)) == pytest.approx(-6.02, abs=0.01)


def test_prompt_source_fills_int16_output_at_its_start_frame():
    src = PromptSource(np.full(1000, 0.5, np.float32), start_frame=4800)
    out = np.empty((800, 1), np.int16)
    src.fill(out, 4000)
    assert out[:, 0].tolist() == [0] * 800
    src.fill(out, 4400)
    assert (out[:400, 0] == 0).all() and (out[400:, 0] == 16384).all()
    src.fill(out, 5800)
    assert (out[:, 0] == 0).all()  # past the end
    assert src.end_frame == 5800


def test_prompt_audio_falls_back_to_a_cue_tone(tmp_path):
    p = prompt_audio("Where is my refund?", None, sample_rate=SR, speak=False)
    assert p.kind == "tone" and p.text == "Where is my refund?" and p.samples.shape == cue_tone(SR).shape
    sf.write(tmp_path / "line.wav", voice(1.0, sr=22050), 22050)
    p = prompt_audio("x", tmp_path / "line.wav", sample_rate=SR)
    assert p.kind == "recorded" and p.duration_s == pytest.approx(1.0, abs=1e-3)


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng not installed")
def test_prompt_audio_speaks_with_espeak():
    p = prompt_audio("Hello, I need help with my bill.", None, sample_rate=SR)
    assert p.kind == "espeak" and 1.0 < p.duration_s < 6.0
    assert level_dbfs(p.samples) == pytest.approx(-20.0, abs=0.5)


# --- file modes, locking before truncation, sidecars kept until the take is stored


@pytest.fixture
def open_umask():
    old = os.umask(0)  # the most permissive umask: whatever is private here is private everywhere
    yield
    os.umask(old)


def _mode(path):
    return path.stat().st_mode & 0o777


def test_take_files_are_private_to_the_user(tmp_path, open_umask):
    writer = TakeWriter(tmp_path / "t", sample_rate=SR, meta={"trainee": "Dana"})
    writer.write(np.zeros(BLOCK, np.int16))
    assert _mode(writer.part) == 0o600 and _mode(writer.sidecar) == 0o600
    wav, _ = writer.finalise(keep_sidecar=True)
    assert _mode(wav) == 0o600 and _mode(writer.sidecar) == 0o600
    writer.settle()
    crashed = TakeWriter(tmp_path / "c", sample_rate=SR)
    crashed.write(np.zeros(BLOCK, np.int16))
    crashed.close()
    wav, _ = finalise_part(crashed.part)  # recovery's path
    assert _mode(wav) == 0o600


def test_a_take_being_written_is_never_wiped_by_a_second_writer(tmp_path):
    first = TakeWriter(tmp_path / "t", sample_rate=SR, meta={"turn": 1})
    first.write(np.full(BLOCK, 1000, np.int16))
    sidecar_before = first.sidecar.read_text()
    with pytest.raises(takes_mod.TakeBusyError, match="another process"):
        TakeWriter(tmp_path / "t", sample_rate=SR, meta={"turn": 2})
    assert first.part.stat().st_size == 2 * BLOCK and first.sidecar.read_text() == sidecar_before
    first.write(np.full(BLOCK, 1000, np.int16))
    wav, meta = first.finalise()
    assert sf.info(wav).frames == 2 * BLOCK and meta["turn"] == 1


def test_an_unrecovered_or_finished_take_is_not_overwritten(tmp_path):
    crashed = TakeWriter(tmp_path / "t", sample_rate=SR)
    crashed.write(np.full(BLOCK, 1000, np.int16))
    crashed.close()  # unlocked but not recovered yet
    with pytest.raises(TakeStorageError, match="not recovered yet"):
        TakeWriter(tmp_path / "t", sample_rate=SR)
    assert crashed.part.stat().st_size == 2 * BLOCK
    finalise_part(crashed.part)
    with pytest.raises(TakeStorageError, match="already exists"):
        TakeWriter(tmp_path / "t", sample_rate=SR)
    assert sf.info(tmp_path / "t.wav").frames == BLOCK


def test_a_finalised_take_keeps_its_sidecar_until_settled(tmp_path):
    writer = TakeWriter(tmp_path / "t", sample_rate=SR, meta={"kind": "turn", "turn": 3})
    writer.write(np.zeros(BLOCK, np.int16))
    wav, _ = writer.finalise(keep_sidecar=True)
    assert not writer.part.exists() and writer.sidecar.exists()
    assert takes_mod.unstored_takes(tmp_path) == []  # the writer still holds it: being stored, not abandoned
    writer.close()  # storing failed (or the process died): it is left for recovery
    assert takes_mod.unstored_takes(tmp_path) == [wav]
    (take,) = list(recover_takes(tmp_path))
    assert take.wav == wav and take.meta["turn"] == 3 and take.duration_s == BLOCK / SR
    assert takes_mod.unstored_takes(tmp_path) == [wav]  # released, not settled: still there for the next run
    take = takes_mod.recover_take(wav)
    assert takes_mod.recover_take(wav) is None  # held by the first recovery while it stores
    take.settle()
    assert not writer.sidecar.exists() and takes_mod.unstored_takes(tmp_path) == [] and wav.exists()
