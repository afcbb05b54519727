"""How long after a reply ends does the verdict show? Measured on the real live path.

Runs ``voicerehearse practice`` in a subprocess against the virtual microphone (ALSA's file plugin, see
shared/design/VIRTUAL_MIC.md), with the device paced in real time (its callback sleeps one block per block, as
hardware would), for N spoken replies (espeak-ng, 2-9 s each, or your own WAVs with ``--speech DIR``), with each
engine and with the other core idle or busy (a busy-loop process). The figure is the one the panel shows:
from the capture of the reply's last block (the block at which the end-of-reply rule or Enter ended it) to the
verdict ready to show, recogniser caught up, analysis stored.

    .venv/bin/python scripts/bench_live.py --replies 10
    .venv/bin/python scripts/bench_live.py --replies 10 --engine none --busy off   # one configuration

Prints one line per configuration: median, p95 and max of the delay, and the problems the device reported
(input overflows), which must stay 0.

What the speed costs in words: ``--wer DIR`` (a folder with manifest.csv: file, reference_text, as
scripts/evaluate_asr.py reads) prints the corpus WER of PocketSphinx on each file decoded whole (what
``voicerehearse transcribe`` does) and cut into utterances as a live take is (at pauses only, and also between
words when an utterance would take longer to decode than the end-of-reply silence on this machine).

    .venv/bin/python scripts/bench_live.py --wer ../shared/data/asr-dev --limit 25
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
SENTENCES = [
    "I understand, that is frustrating.",
    "I am sorry about the delay. Let me look at your order right now.",
    "I can see the late fee was charged on the third. I will waive it today.",
    "Thank you for waiting. Your refund is on its way, and you will get an email within the hour.",
    "I hear you. Here is what I will do: I will call the warehouse, confirm the address, and ring you back "
    "before five o'clock today.",
    "Let me fix that for you.",
    "I understand why you are upset. Nobody likes a surprise charge. I have removed it, and I have added a note "
    "so it does not happen again next month.",
    "Could you tell me the order number, please?",
]

CLOCK = """
import time
from voicerehearse.audio import devices
_orig = devices.DuplexCapture._callback
def _clocked(self, indata, outdata, frames, time_info, status):
    time.sleep(frames / self.sample_rate)  # the null device has no clock: pace it like real hardware
    _orig(self, indata, outdata, frames, time_info, status)
devices.DuplexCapture._callback = _clocked
from voicerehearse.cli.practice import practice
practice()
"""

ASOUNDRC = """pcm.!default {{
  type file
  slave.pcm "null"
  file "/dev/null"
  infile "{infile}"
  format "raw"
}}
"""


def espeak(text: str, path: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
    y, sr = sf.read(path, dtype="float32")
    if sr != SR:
        import soxr

        y = soxr.resample(y, sr, SR)
    return (0.5 * y / max(1e-6, float(np.abs(y).max()))).astype(np.float32)


def replies(n: int, folder: Path, speech: Path | None) -> list[np.ndarray]:
    if speech is not None:
        files = sorted(p for p in speech.iterdir() if p.suffix.lower() in (".wav", ".flac"))
        if not files:
            sys.exit(f"no .wav or .flac files in {speech}")
        out = []
        for p in files[:n]:
            y, sr = sf.read(p, dtype="float32", always_2d=True)
            y = y.mean(axis=1)
            if sr != SR:
                import soxr

                y = soxr.resample(y, sr, SR)
            out.append(y.astype(np.float32))
        return out
    return [espeak(SENTENCES[i % len(SENTENCES)], folder / f"s{i}.wav") for i in range(n)]


def setup(folder: Path, spoken: list[np.ndarray]) -> tuple[Path, Path, dict]:
    """A linear N-turn pack (espeak speaks the customer), the replies folder and the virtual-mic environment."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ['id = "bench-live"', 'title = "Live bench"', 'difficulty = "easy"']
    for i in range(len(spoken)):
        lines += ["", "[[turns]]", f'customer = "This is customer line number {i + 1}. What will you do?"']
    pack = folder / "bench-live.toml"
    pack.write_text("\n".join(lines) + "\n")
    reply_dir = folder / "replies"
    reply_dir.mkdir()
    for i, y in enumerate(spoken, start=1):
        sf.write(reply_dir / f"turn-{i}.wav", y, SR)
    home = folder / "home"
    home.mkdir()
    raw = folder / "mic.raw"
    np.zeros(SR, "<i2").tofile(raw)  # a quiet room; the replies are mixed into what the device records
    (home / ".asoundrc").write_text(ASOUNDRC.format(infile=raw))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALSA_", "VOICEREHEARSE_"))}
    env["HOME"] = str(home)
    return pack, reply_dir, env


def run(folder: Path, spoken: list[np.ndarray], engine: str, busy: bool) -> tuple[list[float], int, str]:
    pack, reply_dir, env = setup(folder, spoken)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        out = subprocess.run([sys.executable, "-c", CLOCK, str(pack), "--replies", str(reply_dir), "--data-dir",
                              str(folder / "data"), "--skip-calibration", "--engine", engine,
                              "--reply-at", "prompt-end+0.4"], env=env, capture_output=True, text=True,
                             timeout=60 + 30 * len(spoken))
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    if out.returncode != 0:
        sys.exit(f"practice failed ({engine}, busy={busy}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    delays = [float(d) for d in re.findall(r"verdict (\d+\.\d+) s after your reply", out.stdout)]
    problems = sum(int(n) for n in re.findall(r"reported (\d+) problem", out.stdout))
    engine_used = "pocketsphinx" if "PocketSphinx" in out.stdout else ("none" if engine == "none" else "vosk")
    return delays, problems, engine_used


def word_errors(folder: Path, limit: int | None) -> None:
    """Corpus WER of whole-file decoding vs the live utterance cutting, on the same files."""
    import csv
    import time

    import soxr

    from voicerehearse.live import transcribe_utterances
    from voicerehearse.settings import load_settings
    from voicerehearse.transcribe.engine import choose_engine, preload, transcribe_blocks, transcribe_file
    from voicerehearse.transcribe.scoring import NO_ERRORS, wer

    settings = load_settings()
    choice = choose_engine("pocketsphinx")
    preload(choice)
    template = transcribe_blocks([np.zeros(160, np.int16)], sample_rate=SR, engine=choice)
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["file"])[:limit]
    budget = settings.reply_end_silence_s - 0.25
    pace: dict = {}
    totals = {"whole file": NO_ERRORS, "live, cut at pauses": NO_ERRORS, "live, cut to decode in time": NO_ERRORS}
    spent = dict.fromkeys(totals, 0.0)
    audio_s = 0.0
    for row in rows:
        y, sr = sf.read(folder / row["file"], dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        audio_s += y.size / sr
        mic = soxr.resample(y, sr, SR) if sr != SR else y  # what a 16 kHz capture of it would deliver
        pcm = np.clip(np.round(mic * 32767), -32768, 32767).astype(np.int16)
        blocks = [pcm[i : i + 800] for i in range(0, pcm.size, 800)]
        for name in totals:
            began = time.perf_counter()
            if name == "whole file":
                said = transcribe_file(folder / row["file"], engine=choice, settings=settings)
            else:
                said = transcribe_utterances(blocks, choice=choice, sample_rate=SR, template=template,
                                             level_dbfs_min=settings.reply_speech_level_dbfs,
                                             max_s=12.0 if name == "live, cut at pauses" else None,
                                             budget_s=budget, pace=pace)
            spent[name] += time.perf_counter() - began
            totals[name] = totals[name] + wer(row["reference_text"], said.text)
    print(f"{len(rows)} files, {audio_s / 60:.1f} min (PocketSphinx; live cut for a {budget:.2f} s decode budget, "
          f"measured decode {pace.get('rtf', 0):.2f} s per s of audio)")
    for name, errors in totals.items():
        print(f"  {name:28s} WER {errors.rate:.3f}  ({errors.reference_words} reference words, "
              f"RTF {spent[name] / audio_s:.2f})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replies", type=int, default=10, help="replies per configuration (default 10)")
    ap.add_argument("--engine", choices=("none", "auto", "both"), default="both",
                    help="'auto' = Vosk when a model resolves, else PocketSphinx (the default engine)")
    ap.add_argument("--busy", choices=("off", "on", "both"), default="both", help="the other core busy-looping")
    ap.add_argument("--speech", type=Path, default=None, help="a folder of WAV/FLAC replies instead of espeak-ng")
    ap.add_argument("--wer", type=Path, default=None, metavar="DIR",
                    help="instead: word error rate of the live utterance cutting vs whole-file decoding")
    ap.add_argument("--limit", type=int, default=None, help="with --wer: the first N files of the manifest")
    args = ap.parse_args(argv)
    if args.wer is not None:
        word_errors(args.wer, args.limit)
        return 0
    if args.speech is None and shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is needed for the replies (or pass --speech DIR)")
    engines = ("none", "auto") if args.engine == "both" else (args.engine,)
    busies = (False, True) if args.busy == "both" else (args.busy == "on",)
    with tempfile.TemporaryDirectory() as tmp:
        spoken = replies(args.replies, Path(tmp), args.speech)
        length = [y.size / SR for y in spoken]
        print(f"{len(spoken)} replies, {min(length):.1f}-{max(length):.1f} s of speech each; "
              f"{os.cpu_count()} cores; device paced in real time")
        for engine in engines:
            for busy in busies:
                delays, problems, used = run(Path(tmp) / f"{engine}-{int(busy)}", spoken, engine, busy)
                d = np.array(delays)
                print(f"engine {used:13s} other core {'busy' if busy else 'idle'}:  verdict after the reply "
                      f"median {np.median(d):.2f} s  p95 {np.percentile(d, 95):.2f} s  max {d.max():.2f} s  "
                      f"(n={d.size}, device problems {problems})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
