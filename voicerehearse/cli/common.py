"""Shared CLI plumbing: settings options and the translation of domain errors at the edge."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from voicerehearse.errors import VoiceRehearseError


def domain_errors(func):
    """Turn VoiceRehearseError into click.ClickException: one line, exit 1, no traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except VoiceRehearseError as exc:
            raise click.ClickException(str(exc)) from None

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
