"""How long `voicerehearse --help` (and `settings --help`) takes against a bare Python start, and what it imports.

    python scripts/bench_cli_start.py [--runs 10] [--no-bytecode]

Each command runs ``--runs`` times in a fresh interpreter (after one warm-up run); the median wall time is
printed with its ratio to ``python -c pass`` (target: <= 2x). Bytecode is cached in a temporary folder
(``PYTHONPYCACHEPREFIX``), as for an installed package, unless ``--no-bytecode`` (then every start compiles the
sources, as with ``PYTHONDONTWRITEBYTECODE=1``). The heavy stacks among the modules imported are listed from
``python -X importtime``, with the slowest top-level imports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = ("numpy", "rich", "sqlalchemy", "flask", "werkzeug", "jinja2", "http", "ssl", "email", "urllib.request",
         "librosa", "scipy", "soundfile", "sounddevice", "vosk")
COMMANDS = {"bare python": ["-c", "pass"], "voicerehearse --help": ["-m", "voicerehearse", "--help"],
            "voicerehearse settings --help": ["-m", "voicerehearse", "settings", "--help"]}
TARGET_RATIO = 2.0


def _env(bytecode: bool, cache: str) -> dict:
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def wall_times(args: list[str], runs: int, env: dict) -> list[float]:
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL)
        if i:  # the first run warms the disk cache and writes the bytecode
            times.append(time.perf_counter() - start)
    return times


def import_profile(args: list[str], env: dict) -> list[tuple[str, int, int]]:
    """(module, self µs, cumulative µs) for each import ``-X importtime`` reports."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], env=env, check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, total, name = line[len("import time:"):].split("|")
        rows.append((name.rstrip(), int(own), int(total)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-bytecode", action="store_true", help="compile the sources on every start")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = _env(not opts.no_bytecode, cache)
        print(f"python {sys.version.split()[0]}, {opts.runs} runs each, "
              f"{'no bytecode cache' if opts.no_bytecode else 'bytecode cached'}; median (min-max) wall time")
        medians = {}
        for label, args in COMMANDS.items():
            times = wall_times(args, opts.runs, env)
            medians[label] = statistics.median(times)
            ratio = medians[label] / medians["bare python"]
            print(f"  {label:32s} {1000 * medians[label]:6.0f} ms ({1000 * min(times):.0f}-{1000 * max(times):.0f})"
                  f"  {ratio:4.1f}x bare")
        for label, args in list(COMMANDS.items())[1:]:
            rows = import_profile(args, env)
            names = [name.strip() for name, _, _ in rows]
            heavy = sorted({n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY)})
            top = sorted(((name.strip(), own, total) for name, own, total in rows
                          if len(name) - len(name.lstrip()) == 1), key=lambda r: -r[2])[:6]  # outermost imports
            print(f"{label}: {len(names)} modules imported; heavy: {', '.join(heavy) or 'none'}")
            print("  slowest top-level imports: " + ", ".join(f"{n} {t / 1000:.1f} ms" for n, _, t in top))
        ratio = medians["voicerehearse --help"] / medians["bare python"]
        print(f"--help: {ratio:.1f}x a bare start (target <= {TARGET_RATIO:g}x): "
              f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}")


if __name__ == "__main__":
    main()
