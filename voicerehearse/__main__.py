from voicerehearse.cli import run

raise SystemExit(run(prog_name="python -m voicerehearse"))
