"""The built wheel is complete: installed on its own (no source tree), it lists models and analyses a demo take."""

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel unpacked as pip installs it, importable without the source checkout on the path."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, cwd=out)
    wheel = next(out.glob("voicerehearse-*.whl"))
    target = out / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
        names = set(z.namelist())
    # the dependencies come from this environment's site-packages, added as a plain path: its .pth files (the
    # editable install's finder among them) are not run, so `voicerehearse` can only come from the wheel
    deps = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), deps]), "PYTHONNOUSERSITE": "1"}
    return {"names": names, "env": env, "cwd": out, "python": getattr(sys, "_base_executable", sys.executable)}


def _run(installed, *args):
    return subprocess.run([installed["python"], "-m", "voicerehearse", *args], capture_output=True, text=True,
                          env=installed["env"], cwd=installed["cwd"], timeout=300)


def test_the_wheel_carries_every_data_file_the_package_reads(installed):
    names = installed["names"]
    for needed in ("voicerehearse/audio_models/manifest.toml", "voicerehearse/delivery_model.toml",
                   "voicerehearse/analysis/phrases.toml", "voicerehearse/rubrics/service-call.toml",
                   "voicerehearse/scenarios/packs/late-fee-waiver.toml", "voicerehearse/demo/takes.toml",
                   "voicerehearse/web/templates/session.html", "voicerehearse/migrations/versions/0001_baseline.py"):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "scripts/")) for n in names)


def test_installed_package_lists_models_and_analyses_a_bundled_take(installed):
    where = subprocess.run([installed["python"], "-c", "import voicerehearse; print(voicerehearse.__file__)"],
                           capture_output=True, text=True, env=installed["env"], cwd=installed["cwd"])
    assert str(ROOT) not in where.stdout and "site" in where.stdout  # the wheel's copy, not the checkout
    models = _run(installed, "models", "list")
    assert models.returncode == 0, models.stderr
    assert "vosk-model-small-en-us-0.15" in models.stdout
    take = Path(where.stdout.strip()).parent / "demo" / "late_fee_sam_assertive_take.flac"
    r = _run(installed, "analyze", str(take), "--engine", "none", "--json")
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["delivery"]["label"] in ("assertive", "aggressive", "passive")
    assert record["delivery"]["confidence"] is not None
