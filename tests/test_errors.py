"""Core errors speak of the problem; each edge adds its own name for the input (the CLI its flag)."""

import ast
import pickle
from pathlib import Path

from voicerehearse.cli.common import message
from voicerehearse.errors import ConfigError
from voicerehearse.pipeline import StereoLayout

import pytest

MODEL_FILE_KEYS = {"--sample-frequency"}  # written that way inside a Kaldi model's conf/mfcc.conf, not a flag of ours
CORE = Path(__file__).resolve().parents[1] / "voicerehearse"


def _raised_texts(path: Path):
    """The string pieces of every ``raise X(...)`` in a module."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            for arg in node.exc.args:
                for piece in ast.walk(arg):
                    if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                        yield node.lineno, piece.value


def test_core_error_messages_name_no_cli_flag():
    found = [f"{p.relative_to(CORE)}:{line}: {text!r}"
             for p in CORE.rglob("*.py") if "cli" not in p.relative_to(CORE).parts
             for line, text in _raised_texts(p) if any(w[:2] == "--" and w[2:3].isalpha() and w not in MODEL_FILE_KEYS for w in text.split())]
    assert not found, "core messages naming a CLI flag:\n" + "\n".join(found)


def test_the_cli_adds_the_flag_and_the_field_survives_pickling():
    with pytest.raises(ConfigError) as info:
        StereoLayout.parse("agent=0")
    assert info.value.field == "stereo" and "--" not in str(info.value)
    assert message(info.value).endswith("(--stereo)")
    again = pickle.loads(pickle.dumps(info.value))  # batch workers send errors back across processes
    assert type(again) is ConfigError and again.field == "stereo" and str(again) == str(info.value)
