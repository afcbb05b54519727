"""Bundled synthetic demo takes (espeak-ng voices, see README.md here): what `voicerehearse demo` runs on.

>>> takes = load_takes()
>>> sorted({t.intended_style for t in takes})
['aggressive', 'assertive', 'passive']
>>> takes[0].take.is_file()
True
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class DemoTake:
    trainee: str
    scenario: str
    scenario_title: str
    intended_style: str
    customer_text: str
    take: Path  # the mic recording of the whole turn (prompt bleed + reply)
    prompt: Path  # the customer's line as played
    prompt_playback_start_s: float  # where in the take the customer's line started playing
    baseline: Path  # the trainee's neutral calibration read
    transcript: Path  # the reply's words (plain text)


def load_takes(folder: Path = DEMO_DIR) -> tuple[DemoTake, ...]:
    """The takes listed in ``folder/takes.toml``, in file order."""
    data = tomllib.loads((folder / "takes.toml").read_text(encoding="utf-8"))
    return tuple(
        DemoTake(
            trainee=t["trainee"],
            scenario=t["scenario"],
            scenario_title=t["scenario_title"],
            intended_style=t["intended_style"],
            customer_text=t["customer_text"],
            take=folder / t["take"],
            prompt=folder / t["prompt"],
            prompt_playback_start_s=float(t["prompt_playback_start_s"]),
            baseline=folder / t["baseline"],
            transcript=folder / t["transcript"],
        )
        for t in data["take"]
    )


NOTE = "Demo recordings are synthetic espeak-ng voices, not real trainees."
