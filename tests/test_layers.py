"""The arrows between layers point one way: core -> store -> web / cli, never back. Checked on the source."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "voicerehearse"
WEB = ROOT / "web"

# the only thing one edge takes from the other: the CLI starts the web app (its factory and asset check)
WEB_ENTRY = {"voicerehearse.web", "voicerehearse.web.create_app", "voicerehearse.web.vendor_assets_present"}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # from voicerehearse import web
                yield node.lineno, f"{node.module}.{alias.name}"


def _violations(files, forbidden, allowed=frozenset()):
    out = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        for line, module in _imports(path):
            if module in allowed:
                continue
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{rel}:{line} imports {module}")
    return out


def test_core_never_imports_the_edges():
    core = [p for p in CORE.rglob("*.py") if "cli" not in p.relative_to(CORE).parts and p.name != "__main__.py"]
    assert _violations(core, {"voicerehearse.web", "voicerehearse.cli", "flask"}) == []


def test_web_never_imports_the_cli():
    assert _violations(WEB.rglob("*.py"), {"voicerehearse.cli"}) == []


def test_cli_reaches_the_web_only_to_serve_it():
    cli = (CORE / "cli").rglob("*.py")
    assert _violations(cli, {"voicerehearse.web"}, WEB_ENTRY) == []


# the rehearsal's stages in the order they may import each other (voicerehearse/rehearsal/__init__.py)
REHEARSAL_STAGES = ("options", "view", "storage", "inputs", "take", "calibration", "recovery", "session")


def test_rehearsal_stages_import_only_earlier_stages():
    folder = CORE / "rehearsal"
    assert sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__") == sorted(REHEARSAL_STAGES)
    out = []
    for i, stage in enumerate(REHEARSAL_STAGES):
        later = {f"voicerehearse.rehearsal.{s}" for s in REHEARSAL_STAGES[i:]}
        out += _violations([folder / f"{stage}.py"], later)
        # the package's front door re-exports every stage: a stage importing it would import itself
        out += [f"rehearsal/{stage}.py:{line} imports {module}" for line, module in _imports(folder / f"{stage}.py")
                if module == "voicerehearse.rehearsal"]
    assert out == []


def test_the_checker_sees_a_violation(tmp_path):
    bad = ROOT / "voicerehearse" / "_layer_probe.py"
    try:
        bad.write_text("def f():\n    from voicerehearse.web import create_app\n", encoding="utf-8")
        assert _violations([bad], {"voicerehearse.web"}) == ["voicerehearse/_layer_probe.py:2 imports voicerehearse.web",
                                                             "voicerehearse/_layer_probe.py:2 imports voicerehearse.web.create_app"]
    finally:
        bad.unlink()
