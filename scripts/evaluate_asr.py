"""Word error rate of the product's transcription against reference texts, beside the plain PocketSphinx library.

Usage: .venv/bin/python scripts/evaluate_asr.py DIR... [--engine pocketsphinx|vosk|auto] [--model PATH]
                                                       [--files] [--text] [--no-plain]

Each DIR holds audio files and a manifest (``manifest.csv``, or the only ``*.csv``) with at least the columns
``file`` (a path relative to DIR) and ``reference_text``. Two recognisers run on every file in the same run:

* ``product``  ``voicerehearse.transcribe.engine.transcribe_file`` -- the function ``voicerehearse transcribe``
               calls, with the engine chosen the same way (``--engine``, default ``pocketsphinx``);
* ``plain``    the PocketSphinx package used directly, the way its documentation shows: one ``Decoder()``,
               each file decoded as one utterance (``start_utt(); process_raw(pcm, full_utt=True); end_utt()``)
               after the same 16 kHz resampling (the product's own ``pcm16_chunks``).

WER = (substitutions + deletions + insertions) / reference words, summed over files (corpus WER), after the
normalisation of :mod:`voicerehearse.transcribe.scoring` (lower case; numerals -> words, "42" -> "forty two";
punctuation dropped, hyphens split words). Reported per file (``--files``), per sample-rate band (the file's
rate: 8 kHz telephone vs >= 16 kHz) and for the corpus. RTF = wall time to read, resample and decode a file /
its duration, summed over files; the one-off model load is done before timing and reported apart.

The audio and references are only read, never copied; only figures are printed.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import soundfile as sf  # noqa: E402

from voicerehearse.transcribe import engine as product  # noqa: E402
from voicerehearse.transcribe.scoring import NO_ERRORS, WordErrors, normalize, wer  # noqa: E402

PLAIN_RATE_HZ = 16000


@dataclass
class Tally:
    errors: WordErrors = NO_ERRORS
    seconds: float = 0.0  # wall time spent
    audio_s: float = 0.0
    files: int = 0

    def add(self, errors: WordErrors, seconds: float, audio_s: float) -> None:
        self.errors = self.errors + errors
        self.seconds += seconds
        self.audio_s += audio_s
        self.files += 1

    @property
    def rtf(self) -> float:
        return self.seconds / self.audio_s if self.audio_s else float("nan")


@dataclass
class Results:
    tallies: dict = field(default_factory=dict)  # (recogniser, band) -> Tally

    def add(self, recogniser: str, band: str, errors: WordErrors, seconds: float, audio_s: float) -> None:
        for key in ((recogniser, band), (recogniser, "all")):
            self.tallies.setdefault(key, Tally()).add(errors, seconds, audio_s)


def read_manifest(folder: Path) -> list[dict]:
    manifest = folder / "manifest.csv"
    if not manifest.is_file():
        found = sorted(folder.glob("*.csv"))
        if len(found) != 1:
            raise SystemExit(f"{folder}: needs manifest.csv (or exactly one *.csv) with file,reference_text")
        manifest = found[0]
    with manifest.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"file", "reference_text"} <= set(rows[0]):
        raise SystemExit(f"{manifest}: needs the columns file and reference_text")
    return rows


def band_of(sample_rate: int) -> str:
    return "8 kHz" if sample_rate < 16000 else ">= 16 kHz"


class Plain:
    """The PocketSphinx library used directly: whole-file utterance decoding."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self.decoder = Decoder(loglevel="FATAL")

    def __call__(self, path: Path) -> str:
        with sf.SoundFile(str(path)) as f:
            blocks = f.blocks(blocksize=product.FILE_BLOCK_FRAMES, dtype="float32", always_2d=True)
            pcm = b"".join(product.pcm16_chunks(blocks, sample_rate=f.samplerate, target_rate=PLAIN_RATE_HZ))
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--engine", choices=product.ENGINES, default="pocketsphinx",
                    help="the product engine to score (chosen as `voicerehearse transcribe --engine` does)")
    ap.add_argument("--model", type=Path, help="Vosk model folder for --engine vosk/auto")
    ap.add_argument("--files", action="store_true", help="print one line per file")
    ap.add_argument("--text", action="store_true", help="with --files, print the normalised hypotheses too")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain PocketSphinx peer")
    args = ap.parse_args(argv)

    from voicerehearse.settings import load_settings

    choice = product.choose_engine(args.engine, args.model, settings=load_settings())
    recognisers = {f"product:{choice.engine}": lambda p: product.transcribe_file(p, engine=choice).text}
    t0 = time.perf_counter()
    if choice.engine == "vosk":
        from voicerehearse.transcribe import vosk_engine

        vosk_engine.load_model(choice.model_path)
    else:
        from voicerehearse.transcribe import sphinx_engine

        sphinx_engine.preload()
    loads = {f"product:{choice.engine}": time.perf_counter() - t0}
    if not args.no_plain:
        t0 = time.perf_counter()
        recognisers["plain:pocketsphinx"] = Plain()
        loads["plain:pocketsphinx"] = time.perf_counter() - t0

    results = Results()
    for folder in args.dirs:
        for row in read_manifest(folder):
            path = folder / row["file"]
            info = sf.info(str(path))
            band = band_of(info.samplerate)
            line = [f"{row['file'][:40]:40s} {info.samplerate:>6d} {info.duration:6.1f}s"]
            for name, recognise in recognisers.items():
                t0 = time.perf_counter()
                text = recognise(path)
                seconds = time.perf_counter() - t0
                errors = wer(row["reference_text"], text)
                results.add(name, band, errors, seconds, info.duration)
                line.append(f"{name.split(':')[0]} {errors.rate:5.3f}")
                if args.text:
                    line.append(f"\n    {name}: {' '.join(normalize(text))}")
            if args.files:
                if args.text:
                    line.insert(1, f"\n    reference: {' '.join(normalize(row['reference_text']))}")
                print("  ".join(line))

    print(f"\n{'recogniser':22s} {'band':10s} {'files':>5s} {'words':>6s} {'WER':>6s} {'S':>5s} {'D':>5s} "
          f"{'I':>5s} {'RTF':>6s}")
    for name in recognisers:
        for band in ("8 kHz", ">= 16 kHz", "all"):
            t = results.tallies.get((name, band))
            if t is None:
                continue
            e = t.errors
            print(f"{name:22s} {band:10s} {t.files:5d} {e.reference_words:6d} {e.rate:6.3f} {e.substitutions:5d} "
                  f"{e.deletions:5d} {e.insertions:5d} {t.rtf:6.3f}")
    print("model load (s): " + ", ".join(f"{k} {v:.2f}" for k, v in loads.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
