#!/usr/bin/env python3
"""Generate VoiceRehearse's bundled demo takes: synthetic speech only, from espeak-ng.

    .venv/bin/python scripts/make_demo_audio.py [OUTPUT_DIR]     # default: voicerehearse/demo

Needs the ``espeak-ng`` program plus numpy, soundfile and soxr. No real voices are used: every
recording is espeak-ng text-to-speech, shaped with numpy so it carries the cues the analysis
looks for (level, pace, pitch and pitch range, reply timing, loudspeaker bleed of the customer).

What is written (16 kHz mono 16-bit FLAC; voices band-limited to 7 kHz and samples kept on a
12-bit grid so the whole folder stays near 1.5 MB):

* ``baseline_<trainee>.flac``  neutral calibration read, recorded with room noise;
* ``<scenario>_customer.flac``  the customer's line (the prompt the app plays);
* ``<scenario>_<trainee>_<style>.flac`` + ``.txt``  the clean reply and its exact words;
* ``<scenario>_<trainee>_<style>_take.flac``  the whole turn as the mic hears it: room noise, the
  customer's line leaking from the speakers (-20 dB, 30 ms late, low-passed), then the reply,
  which barges in (aggressive), follows after a short beat (assertive) or after a long
  hesitation (passive);
* ``takes.toml``  the manifest, with the ground truth (intended style, levels, timings).

Output is reproducible: the noise comes from a fixed seed and espeak-ng is deterministic for a
given version (the version used is written into the manifest).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import soundfile as sf
import soxr

SR = 16000
SEED = 20261123
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "voicerehearse" / "demo"

# Mic / room model
ROOM_NOISE_DBFS = -70.0  # white noise RMS under the whole recording
LEAD_IN_S = 0.30  # room noise before the prompt starts playing
TAIL_S = 0.30  # room noise after the reply
BLEED_GAIN_DB = -20.0  # prompt as heard by the mic, relative to the prompt file
BLEED_DELAY_S = 0.030  # speaker -> mic acoustic + buffer delay
BLEED_CUTOFF_HZ = 3400.0  # small loudspeaker / mic path: low-pass FIR
EDGE_PAD_S = 0.02  # silence kept around the speech when trimming espeak-ng output
SPEECH_BELOW_PEAK_DB = 30.0  # manifest speech boundaries: 10 ms frames within this of the loud end
VOICE_BAND_HZ = 7000.0  # every voice is band-limited like a wideband (G.722-style) headset

# Levels (active-speech RMS, dBFS). Baseline sits near the app's default reference level (-26).
BASELINE_DBFS = -27.0
LIMIT_KNEE = 0.85  # soft peak limiter above this (only the loudest, aggressive peaks reach it)
CUSTOMER_DBFS = -24.0
LEVEL_JITTER_DB = 0.5  # seeded, so the takes are not pinned to exact numbers

# Storage: 16-bit FLAC, but samples are rounded to multiples of 16 LSB (12-bit effective
# resolution) so FLAC's "wasted bits" coding keeps the folder near 1.5 MB. Quantisation noise is
# about -78 dBFS, under the -70 dBFS room floor of the recordings.
QUANT_STEP_LSB = 16


@dataclass(frozen=True)
class Trainee:
    id: str
    name: str
    voice: str  # espeak-ng voice[+variant]
    speed_wpm: int  # espeak-ng -s for the neutral read (= assertive delivery)
    pitch: int  # espeak-ng -p for the neutral read


TRAINEES = (
    Trainee("dana", "Dana", "en-us", 155, 50),
    Trainee("sam", "Sam", "en-gb+m3", 145, 45),
)

# Calibration read: neutral, nothing to do with a complaint. "{name}" is filled in.
BASELINE_TEXT = (
    "Hello, I'm {name}. I'm reading this in my normal voice, at an easy pace, on a quiet morning."
)


@dataclass(frozen=True)
class Style:
    """How a style is delivered, relative to the trainee's neutral read."""

    gain_db: float
    speed_wpm: int | None  # None: the trainee's own speed
    pitch_shift: int  # added to the trainee's espeak-ng -p
    pitch_range: str  # SSML <prosody range=...>: espeak-ng 1.51 honours it (x-low .. x-high)
    pause_ms: int  # length of a "|" hesitation mark in the reply text
    gap_s: float  # reply start minus the end of the customer's line (negative: barge-in)


STYLES = {
    "assertive": Style(0.0, None, 0, "medium", 250, 0.5),
    "aggressive": Style(+9.0, 215, +22, "x-high", 120, -0.6),
    "passive": Style(-9.0, 120, -20, "x-low", 500, 2.5),
}

# Scenario texts are the project's own wording. "|" marks a hesitation (SSML <break>); it is not
# part of the transcript.
SCENARIOS = {
    "late_fee": {
        "title": "Late-fee waiver",
        "direction": "inbound",
        "situation": "A long-standing customer paid one bill two days late and wants the late fee removed.",
        "customer": {
            "voice": "en-us+f3",
            "speed_wpm": 185,
            "pitch": 60,
            "range": "high",
            "level_dbfs": CUSTOMER_DBFS,
            "text": "Six years paying on time, and now a forty dollar late fee? Take it off.",
        },
        "replies": {
            ("dana", "assertive"): (
                "I understand. Let me remove that fee now; the credit shows within two days. "
                "What would completely satisfy you?"
            ),
            ("dana", "aggressive"): (
                "Calm down. You paid late, that's on you. Fine, I'll do it, but just this once. "
                "Next time you pay, period."
            ),
            ("dana", "passive"): (
                "Sorry, I'm really sorry. | I guess maybe | there's nothing I can do. | Sorry."
            ),
            ("sam", "assertive"): (
                "I understand, that feels unfair. Let me waive it now "
                "and email a confirmation within the hour."
            ),
        },
    },
    "angry_order": {
        "title": "Angry caller: online order went wrong",
        "direction": "inbound",
        "situation": "An online order arrived late and damaged, and the customer could not reach anyone.",
        "customer": {
            "voice": "en-gb-x-rp+f4",
            "speed_wpm": 190,
            "pitch": 70,
            "range": "x-high",
            "level_dbfs": CUSTOMER_DBFS + 3.0,
            "text": "My order came late, the box was crushed, and nobody answers your chat!",
        },
        "replies": {
            ("dana", "assertive"): (
                "I'm sorry, I understand. Let me ship a replacement today, arriving by Friday. "
                "What would completely satisfy you?"
            ),
            ("dana", "aggressive"): (
                "Calm down. The courier crushed it, not us; read the terms. "
                "I'll send another, but just this once."
            ),
            ("dana", "passive"): (
                "I'm so sorry. | I guess maybe the courier. | There's nothing I can do, sorry."
            ),
            ("sam", "assertive"): (
                "I understand, I'd be annoyed too. Let me book a free replacement now; "
                "it arrives within three days."
            ),
        },
    },
}


# ------------------------------------------------------------------------------------- espeak-ng


def espeak_version() -> str:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"text-to-speech:\s*(\S+)", out)
    return m.group(1) if m else out.strip()


def to_ssml(text: str, *, pause_ms: int, pitch_range: str) -> str:
    parts = [escape(p.strip()) for p in text.split("|")]
    body = f'<break time="{pause_ms}ms"/>'.join(p for p in parts if p)
    return f'<speak><prosody range="{pitch_range}">{body}</prosody></speak>'


def transcript(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("|", " ")).strip()


def synth(text: str, *, voice: str, speed_wpm: int, pitch: int, pitch_range: str, pause_ms: int, tmp: Path) -> np.ndarray:
    """espeak-ng -> float32 mono at SR, trimmed to the speech with EDGE_PAD_S either side."""
    wav = tmp / "tts.wav"
    ssml = to_ssml(text, pause_ms=pause_ms, pitch_range=pitch_range)
    cmd = ["espeak-ng", "-m", "-v", voice, "-s", str(speed_wpm), "-p", str(pitch), "-w", str(wav), ssml]
    subprocess.run(cmd, check=True, capture_output=True)
    y, sr = sf.read(str(wav), dtype="float32")
    if y.ndim > 1:
        y = y.mean(axis=1)
    y = lowpass(soxr.resample(y, sr, SR).astype(np.float32), VOICE_BAND_HZ, taps=31)
    loud = np.flatnonzero(np.abs(y) > 10 ** (-55 / 20))
    if loud.size == 0:
        raise RuntimeError(f"espeak-ng produced silence for {text!r}")
    pad = int(EDGE_PAD_S * SR)
    return np.pad(y[loud[0] : loud[-1] + 1], pad)  # espeak-ng may start speaking at sample 0


# ------------------------------------------------------------------------------------ signal ops


def db_to_gain(db: float) -> float:
    return float(10 ** (db / 20))


def active_rms_dbfs(y: np.ndarray, frame_s: float = 0.02) -> float:
    """RMS level over the frames within 25 dB of the loud end (99th percentile) of the signal."""
    n = int(frame_s * SR)
    frames = y[: len(y) // n * n].reshape(-1, n).astype(np.float64)
    lev = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    active = lev > np.percentile(lev, 99) - 25
    return float(10 * np.log10(np.mean(frames[active] ** 2)))


def speech_bounds(y: np.ndarray, below_peak_db: float = SPEECH_BELOW_PEAK_DB) -> tuple[int, int]:
    """First and last sample of speech: 10 ms frames within ``below_peak_db`` of the loud end (99th pct)."""
    n = SR // 100
    lev = 10 * np.log10(np.mean(y[: len(y) // n * n].reshape(-1, n).astype(np.float64) ** 2, axis=1) + 1e-20)
    idx = np.flatnonzero(lev > np.percentile(lev, 99) - below_peak_db)
    return int(idx[0] * n), int((idx[-1] + 1) * n)


def set_level(y: np.ndarray, target_dbfs: float) -> np.ndarray:
    """Scale to an active-speech level; peaks above LIMIT_KNEE are softly limited (never clipped)."""
    out = y * db_to_gain(target_dbfs - active_rms_dbfs(y))
    a = np.abs(out)
    over = a > LIMIT_KNEE
    if over.any():  # tanh knee: continuous, stays below 1.0
        room = 0.99 - LIMIT_KNEE
        a[over] = LIMIT_KNEE + room * np.tanh((a[over] - LIMIT_KNEE) / room)
        out = np.sign(out) * a
    return out.astype(np.float32)


def lowpass(y: np.ndarray, cutoff_hz: float, taps: int = 63) -> np.ndarray:
    """Windowed-sinc FIR (Hann), zero-phase alignment via 'same' convolution."""
    t = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(2 * cutoff_hz / SR * t) * np.hanning(taps)
    h /= h.sum()
    return np.convolve(y, h, mode="same").astype(np.float32)


def room_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    return (rng.standard_normal(n) * db_to_gain(ROOM_NOISE_DBFS)).astype(np.float32)


def write_flac(path: Path, y: np.ndarray) -> None:
    top = 32768 - QUANT_STEP_LSB
    q = np.clip(np.round(y * 32768 / QUANT_STEP_LSB) * QUANT_STEP_LSB, -top, top).astype(np.int16)
    sf.write(str(path), q, SR, format="FLAC", subtype="PCM_16", compression_level=1.0)


def r3(x: float) -> float:
    return round(float(x), 3)


# ------------------------------------------------------------------------------------- manifest


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    raise TypeError(v)


def toml_table(header: str, data: dict) -> str:
    lines = [header] + [f"{k} = {toml_value(v)}" for k, v in data.items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------- main


def build(out: Path) -> None:
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    version = espeak_version()
    trainees = {t.id: t for t in TRAINEES}
    manifest: list[str] = []

    header = {
        "note": (
            "All audio here is synthetic speech generated by espeak-ng with scripts/make_demo_audio.py. "
            "No real people are recorded. Regenerate with: .venv/bin/python scripts/make_demo_audio.py"
        ),
        "generator": "scripts/make_demo_audio.py",
        "espeak_ng_version": version,
        "seed": SEED,
        "sample_rate_hz": SR,
        "format": "FLAC, mono, 16-bit",
        "room_noise_dbfs": ROOM_NOISE_DBFS,
        "levels": "Levels are active-speech RMS in dBFS (20 ms frames within 25 dB of the loud end).",
        "timing": (
            "Times are seconds from the start of the take. prompt_start_s/prompt_end_s: the customer's speech as "
            "the mic hears it (speaker bleed); reply_start_s/reply_end_s: the trainee's speech; speech = 10 ms "
            f"frames within {SPEECH_BELOW_PEAK_DB:g} dB of the clip's loud end. prompt_offset_s/reply_offset_s: "
            "where the first sample of the prompt/reply file sits in the take. response_latency_s = "
            "reply_start_s - prompt_end_s (negative: the reply barged in)."
        ),
    }
    manifest.append("\n".join(f"{k} = {toml_value(v)}" for k, v in header.items()) + "\n")

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)

        # --- trainees: neutral calibration reads, recorded with room noise
        baseline_level = {}
        for t in TRAINEES:
            text = BASELINE_TEXT.format(name=t.name)
            y = synth(text, voice=t.voice, speed_wpm=t.speed_wpm, pitch=t.pitch, pitch_range="medium", pause_ms=250, tmp=tmp)
            level = BASELINE_DBFS + rng.uniform(-LEVEL_JITTER_DB, LEVEL_JITTER_DB)
            y = set_level(y, level)
            level = active_rms_dbfs(y)
            lead, tail = int(LEAD_IN_S * SR), int(TAIL_S * SR)
            rec = room_noise(lead + len(y) + tail, rng)
            rec[lead : lead + len(y)] += y
            name = f"baseline_{t.id}.flac"
            write_flac(out / name, rec)
            baseline_level[t.id] = level
            manifest.append(toml_table("[[trainee]]", {
                "id": t.id,
                "name": t.name,
                "espeak_voice": t.voice,
                "espeak_speed_wpm": t.speed_wpm,
                "espeak_pitch": t.pitch,
                "baseline": name,
                "baseline_text": text,
                "baseline_level_dbfs": r3(level),
                "speech_start_s": r3((lead + speech_bounds(y)[0]) / SR),
                "speech_end_s": r3((lead + speech_bounds(y)[1]) / SR),
            }))

        # --- scenarios: customer prompt, then replies and takes
        for sid, sc in SCENARIOS.items():
            c = sc["customer"]
            prompt = synth(c["text"], voice=c["voice"], speed_wpm=c["speed_wpm"], pitch=c["pitch"],
                           pitch_range=c["range"], pause_ms=200, tmp=tmp)
            prompt = set_level(prompt, c["level_dbfs"])
            prompt_name = f"{sid}_customer.flac"
            write_flac(out / prompt_name, prompt)
            manifest.append(toml_table("[[scenario]]", {
                "id": sid,
                "title": sc["title"],
                "direction": sc["direction"],
                "situation": sc["situation"],
                "prompt": prompt_name,
                "customer_text": c["text"],
                "customer_espeak_voice": c["voice"],
                "prompt_level_dbfs": r3(c["level_dbfs"]),
                "prompt_duration_s": r3(len(prompt) / SR),
            }))
            # the prompt as the mic hears it
            bleed = lowpass(prompt, BLEED_CUTOFF_HZ) * db_to_gain(BLEED_GAIN_DB)
            delay = int(round(BLEED_DELAY_S * SR))

            for (tid, style_id), text in sc["replies"].items():
                t, st = trainees[tid], STYLES[style_id]
                reply = synth(
                    text,
                    voice=t.voice,
                    speed_wpm=st.speed_wpm or t.speed_wpm,
                    pitch=int(np.clip(t.pitch + st.pitch_shift, 0, 99)),
                    pitch_range=st.pitch_range,
                    pause_ms=st.pause_ms,
                    tmp=tmp,
                )
                level = baseline_level[tid] + st.gain_db + rng.uniform(-LEVEL_JITTER_DB, LEVEL_JITTER_DB)
                reply = set_level(reply, level)
                level = active_rms_dbfs(reply)
                stem = f"{sid}_{tid}_{style_id}"
                write_flac(out / f"{stem}.flac", reply)
                (out / f"{stem}.txt").write_text(transcript(text) + "\n", encoding="utf-8")

                # the take: noise floor, prompt bleed, reply
                play_at = int(LEAD_IN_S * SR)
                bleed_at = play_at + delay  # first sample of the prompt file, as heard by the mic
                p_on, p_off = speech_bounds(prompt)
                r_on, r_off = speech_bounds(reply)
                prompt_start, prompt_end = bleed_at + p_on, bleed_at + p_off  # customer speech, take time
                gap = st.gap_s + rng.uniform(-0.05, 0.05)  # reply speech onset - customer speech end
                reply_start = prompt_end + int(round(gap * SR))
                reply_at = reply_start - r_on  # first sample of the reply file
                total = reply_at + len(reply) + int(TAIL_S * SR)
                take = room_noise(total, rng)
                take[bleed_at : bleed_at + len(prompt)] += bleed
                take[reply_at : reply_at + len(reply)] += reply
                take_name = f"{stem}_take.flac"
                write_flac(out / take_name, take)

                manifest.append(toml_table("[[take]]", {
                    "take": take_name,
                    "trainee": tid,
                    "scenario": sid,
                    "scenario_title": sc["title"],
                    "intended_style": style_id,
                    "customer_text": c["text"],
                    "reply_text": transcript(text),
                    "prompt": prompt_name,
                    "prompt_start_s": r3(prompt_start / SR),
                    "prompt_end_s": r3(prompt_end / SR),
                    "reply": f"{stem}.flac",
                    "transcript": f"{stem}.txt",
                    "baseline": f"baseline_{tid}.flac",
                    "reply_start_s": r3(reply_start / SR),
                    "reply_end_s": r3((reply_at + r_off) / SR),
                    "response_latency_s": r3((reply_start - prompt_end) / SR),
                    "barges_in": bool(reply_start < prompt_end),
                    "prompt_offset_s": r3(bleed_at / SR),
                    "reply_offset_s": r3(reply_at / SR),
                    "prompt_playback_start_s": r3(play_at / SR),
                    "bleed_delay_s": r3(delay / SR),
                    "bleed_gain_db": BLEED_GAIN_DB,
                    "reply_level_dbfs": r3(level),
                    "reply_level_vs_baseline_db": r3(level - baseline_level[tid]),
                    "espeak_voice": t.voice,
                    "espeak_speed_wpm": st.speed_wpm or t.speed_wpm,
                    "espeak_pitch": int(np.clip(t.pitch + st.pitch_shift, 0, 99)),
                    "ssml_pitch_range": st.pitch_range,
                }))

    (out / "takes.toml").write_text("\n".join(manifest), encoding="utf-8")
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"wrote {sum(1 for _ in out.iterdir())} files, {total / 1e6:.2f} MB, to {out}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    build(ap.parse_args(argv).output)


if __name__ == "__main__":
    main()
