"""Shared CLI plumbing: settings options and the translation of domain errors at the edge."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from voicerehearse.errors import VoiceRehearseError


def message(exc: VoiceRehearseError) -> str:
    """The error's one line with the option it is about, as this edge spells it.

    >>> from voicerehearse.errors import ConfigError
    >>> message(ConfigError("the start must be >= 0 s", field="prompt_start"))
    'the start must be >= 0 s (--prompt-start)'
    """
    field = getattr(exc, "field", None)
    return f"{exc} (--{field.replace('_', '-')})" if field else str(exc)


def domain_errors(func):
    """Turn VoiceRehearseError into click.ClickException: one line, exit 1, no traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except VoiceRehearseError as exc:
            raise click.ClickException(message(exc)) from None

    return wrapper


def _parse_set(ctx, param, values):
    overrides = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        try:
            import tomllib

            overrides[name.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except Exception:
            overrides[name.strip()] = raw
    return overrides


config_option = click.option(
    "--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="TOML file overriding settings (see `voicerehearse settings`). Default: $VOICEREHEARSE_CONFIG.",
)
set_option = click.option(
    "--set", "overrides", multiple=True, callback=_parse_set, metavar="NAME=VALUE",
    help="Override one setting, e.g. --set loud_delta_db=8 (repeatable).",
)


class lazy:  # noqa: N801 - used like the class or function it stands for
    """A module's attribute imported on first use: ``Text = lazy("rich.text", "Text")`` behaves as the class
    (calls, attributes, ``isinstance``), but rich is imported only when a command uses it. Command modules use
    it for heavy imports (rich, numpy, the HTTP stack), so listing the commands (``voicerehearse --help``, which
    imports every command module) stays a bare Python start."""

    __slots__ = ("_module", "_name", "_target")

    def __init__(self, module: str, name: str | None = None):
        self._module, self._name, self._target = module, name, None

    def _resolve(self):
        if self._target is None:
            import importlib

            module = importlib.import_module(self._module)
            self._target = module if self._name is None else getattr(module, self._name)
        return self._target

    def __call__(self, *args, **kwargs):
        return self._resolve()(*args, **kwargs)

    def __getattr__(self, attr):
        return getattr(self._resolve(), attr)

    def __instancecheck__(self, obj) -> bool:
        return isinstance(obj, self._resolve())

    def __repr__(self) -> str:
        return f"lazy({self._module!r}, {self._name!r})"
