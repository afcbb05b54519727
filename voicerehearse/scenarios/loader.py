"""Load and validate scenario packs (TOML). Every error is one line naming the file and the field.

Packs come from the built-in ``packs/`` folder, then from user folders (``--scenarios-dir`` or
``$VOICEREHEARSE_SCENARIOS``, several separated by ``os.pathsep``); a user pack may replace a built-in
one by using its id.

>>> [s.id for s in load_scenarios(user_dirs=())][:2]
['angry-online-order', 'late-fee-waiver']
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from voicerehearse.analysis.lexicon import CATEGORIES
from voicerehearse.errors import ConfigError
from voicerehearse.scenarios.model import (CALL_KINDS, DIFFICULTIES, EVENTS, OUTCOMES, VERDICTS, Branch, Scenario,
                                          ScenarioTurn)

SCENARIOS_ENV = "VOICEREHEARSE_SCENARIOS"
BUILTIN_DIR = Path(__file__).resolve().parent / "packs"
CUE_NAMES = tuple(c.name for c in CATEGORIES)
_TOP_KEYS = {"id", "title", "difficulty", "call", "summary", "briefing", "turns", "rubric"}
_TURN_KEYS = {"id", "customer", "audio", "goal", "expect", "avoid", "model_lines", "branches", "next", "end",
              "timeout_s"}
_BRANCH_KEYS = {"when", "goto", "end"}
WHEN_NAMES = (*VERDICTS, *CUE_NAMES, *EVENTS)


class ScenarioError(ConfigError):
    """A scenario pack is missing, not TOML, or breaks the format."""


def _fail(path: Path, field: str, message: str):
    raise ScenarioError(f"{path}: {field}: {message}")


def _text(path: Path, data: Mapping, key: str, field: str, *, required: bool, default: str = "") -> str:
    value = data.get(key)
    if value is None:
        if required:
            _fail(path, field, "missing (a non-empty string is required)")
        return default
    if not isinstance(value, str) or not value.strip():
        _fail(path, field, f"must be a non-empty string, got {value!r}")
    return " ".join(value.split())


def _cues(path: Path, data: Mapping, key: str, field: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _fail(path, field, f"must be a list of cue names, got {value!r}")
    for name in value:
        if name not in CUE_NAMES:
            _fail(path, field, f"unknown cue {name!r} (known: {', '.join(CUE_NAMES)})")
    return tuple(value)


def _unknown(path: Path, data: Mapping, allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        _fail(path, f"{where}{extra[0]}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _name(path: Path, data: Mapping, key: str, field: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or not all(ch.isalnum() or ch in "-_" for ch in value):
        _fail(path, field, f"must be a turn id (letters, digits, '-' and '_'), got {value!r}")
    return value


def _outcome(path: Path, value, field: str) -> str | None:
    if value is not None and value not in OUTCOMES:
        _fail(path, field, f"must be one of {', '.join(OUTCOMES)}, got {value!r}")
    return value


def _branches(path: Path, raw: Mapping, where: str) -> tuple[Branch, ...]:
    value = raw.get("branches", [])
    if not isinstance(value, list):
        _fail(path, f"{where}.branches", "must be a list of {{ when = ..., goto = ... }} tables")
    out = []
    for j, b in enumerate(value, start=1):
        field = f"{where}.branches[{j}]"
        if not isinstance(b, dict):
            _fail(path, field, "must be a table like { when = \"aggressive\", goto = \"escalates\" }")
        _unknown(path, b, _BRANCH_KEYS, f"{field}.")
        when = b.get("when")
        if when not in WHEN_NAMES:
            _fail(path, f"{field}.when", f"unknown {when!r} (known: {', '.join(WHEN_NAMES)})")
        goto = _name(path, b, "goto", f"{field}.goto")
        end = _outcome(path, b.get("end"), f"{field}.end")
        if (goto is None) == (end is None):
            _fail(path, field, "needs exactly one of goto (a turn id) or end (an outcome)")
        out.append(Branch(when, goto, end))
    return tuple(out)


def _check_graph(path: Path, turns: list[ScenarioTurn]) -> None:
    """Turn ids are unique and every goto / next names a turn."""
    ids: dict[str, int] = {}
    for t in turns:
        if t.id in ids:
            _fail(path, f"turns[{t.index}].id", f"{t.id!r} is already used by turns[{ids[t.id]}]")
        ids[t.id] = t.index
    for t in turns:
        targets = [(f"turns[{t.index}].next", t.next)]
        targets += [(f"turns[{t.index}].branches[{j}].goto", b.goto) for j, b in enumerate(t.branches, start=1)]
        for field, target in targets:
            if target is not None and target not in ids:
                _fail(path, field, f"no turn has the id {target!r} (ids: {', '.join(ids)})")


def load_pack(path: str | os.PathLike) -> Scenario:
    """Read one pack file; raises :class:`ScenarioError` with the file and the offending field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario pack") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: a folder, not a scenario pack") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    _unknown(path, data, _TOP_KEYS, "")
    sid = _text(path, data, "id", "id", required=False, default=path.stem)
    if not all(ch.isalnum() or ch in "-_" for ch in sid):
        _fail(path, "id", f"use letters, digits, '-' and '_' only, got {sid!r}")
    title = _text(path, data, "title", "title", required=True)
    difficulty = data.get("difficulty")
    if difficulty not in DIFFICULTIES:
        _fail(path, "difficulty", f"must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
    call = data.get("call", "inbound")
    if call not in CALL_KINDS:
        _fail(path, "call", f"must be one of {', '.join(CALL_KINDS)}, got {call!r}")
    summary = _text(path, data, "summary", "summary", required=False, default=title)
    briefing = _text(path, data, "briefing", "briefing", required=False)
    raw_turns = data.get("turns")
    if not isinstance(raw_turns, list) or not raw_turns:
        _fail(path, "turns", "at least one [[turns]] table is required")
    turns = []
    for i, raw in enumerate(raw_turns, start=1):
        where = f"turns[{i}]"
        if not isinstance(raw, dict):
            _fail(path, where, "must be a [[turns]] table")
        _unknown(path, raw, _TURN_KEYS, f"{where}.")
        customer = _text(path, raw, "customer", f"{where}.customer", required=True)
        audio = None
        if "audio" in raw:
            rel = _text(path, raw, "audio", f"{where}.audio", required=True)
            audio = (path.parent / rel).resolve()
            if not audio.is_file():
                _fail(path, f"{where}.audio", f"file not found: {audio}")
        goal = _text(path, raw, "goal", f"{where}.goal", required=False)
        expect = _cues(path, raw, "expect", f"{where}.expect")
        avoid = _cues(path, raw, "avoid", f"{where}.avoid")
        both = set(expect) & set(avoid)
        if both:
            _fail(path, f"{where}.avoid", f"cue {sorted(both)[0]!r} is also in expect")
        turn_id = _name(path, raw, "id", f"{where}.id") or f"turn-{i}"
        lines = raw.get("model_lines", [])
        if not isinstance(lines, list) or not all(isinstance(v, str) and v.strip() for v in lines):
            _fail(path, f"{where}.model_lines", f"must be a list of non-empty strings, got {lines!r}")
        timeout = raw.get("timeout_s")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or not 1.0 <= timeout <= 600.0):
            _fail(path, f"{where}.timeout_s", f"must be a number of seconds from 1 to 600, got {timeout!r}")
        turns.append(ScenarioTurn(i, customer, audio, goal, expect, avoid, id=turn_id,
                                  model_lines=tuple(" ".join(v.split()) for v in lines),
                                  branches=_branches(path, raw, where), next=_name(path, raw, "next", f"{where}.next"),
                                  end=_outcome(path, raw.get("end"), f"{where}.end"),
                                  timeout_s=float(timeout) if timeout is not None else None))
    _check_graph(path, turns)
    rubric = data.get("rubric")
    if rubric is not None and (not isinstance(rubric, str) or not rubric.strip()):
        _fail(path, "rubric", f"must name a scorecard rubric (e.g. \"service-call\"), got {rubric!r}")
    return Scenario(sid, title, difficulty, call, summary, briefing, tuple(turns), path.resolve(), rubric=rubric)


def pack_dirs(user_dirs: Iterable[str | os.PathLike] | None = None, env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """Built-in packs first, then ``user_dirs`` (or ``$VOICEREHEARSE_SCENARIOS`` when None)."""
    env = os.environ if env is None else env
    if user_dirs is None:
        user_dirs = [p for p in env.get(SCENARIOS_ENV, "").split(os.pathsep) if p.strip()]
    return (BUILTIN_DIR, *(Path(p).expanduser() for p in user_dirs))


def load_scenarios(user_dirs: Iterable[str | os.PathLike] | None = None, env: Mapping[str, str] | None = None) -> tuple[Scenario, ...]:
    """Every pack in :func:`pack_dirs`, sorted by id; a later folder's pack replaces an earlier one with its id."""
    found: dict[str, Scenario] = {}
    for folder in pack_dirs(user_dirs, env):
        if not folder.is_dir():
            raise ScenarioError(f"{folder}: scenario folder not found")
        seen: dict[str, Path] = {}
        for file in sorted(folder.glob("*.toml")):
            scenario = load_pack(file)
            if scenario.id in seen:
                raise ScenarioError(f"{file}: id: {scenario.id!r} is already used by {seen[scenario.id]}")
            seen[scenario.id] = file
            found[scenario.id] = scenario
    return tuple(sorted(found.values(), key=lambda s: s.id))


def find_scenario(name: str, user_dirs: Iterable[str | os.PathLike] | None = None,
                  env: Mapping[str, str] | None = None) -> Scenario:
    """A scenario by id, or a pack file path. Raises ScenarioError naming the known ids."""
    if name.endswith(".toml") or os.sep in name:
        return load_pack(name)
    scenarios = load_scenarios(user_dirs, env)
    for s in scenarios:
        if s.id == name:
            return s
    raise ScenarioError(f"unknown scenario {name!r} (known: {', '.join(s.id for s in scenarios)}; "
                        "see `voicerehearse scenarios`)")
