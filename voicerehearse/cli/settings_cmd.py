"""``voicerehearse settings``: every threshold with its default, current value, unit and meaning."""

from __future__ import annotations

import click

from voicerehearse.cli.common import config_option, domain_errors, set_option

_UNITS = (("_dbfs", "dBFS"), ("_db", "dB"), ("_st", "semitones"), ("_hz", "Hz"), ("_wpm", "words/min"),
          ("_s", "seconds"), ("_ratio", "x"), ("_count", "count"), ("_weight", "score"), ("_factor", "x"),
          ("_score", "score"), ("_fraction", "share 0-1"), ("_pct", "%"), ("_spreads", "spreads"),
          ("_words", "words"), ("_digits", "digits"), ("_length", "characters"), ("_max", ""))


def unit_of(name: str) -> str:
    """The unit a setting's name declares: ``unit_of("min_pause_s") == "seconds"``."""
    return next((unit for suffix, unit in _UNITS if name.endswith(suffix)), "")


@click.command()
@config_option
@set_option
@click.option("--toml", "as_toml", is_flag=True, help="Print the current values as a TOML file to start from.")
@click.option("--markdown", is_flag=True, help="Print the defaults as the Markdown table of docs/settings.md.")
@domain_errors
def settings(config, overrides, as_toml, markdown):
    """List every setting: name, current value, unit and what it does.

    Override them in a TOML file passed with --config (flat keys or [section] tables).
    """
    from voicerehearse.settings import SETTINGS, load_settings  # here, not for `voicerehearse --help`

    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    current = load_settings(config, overrides)
    if as_toml:
        section = None
        for s in SETTINGS:
            if s.section != section:
                section = s.section
                click.echo(f"\n[{section}]")
            value = getattr(current, s.name)
            shown = f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else value
            click.echo(f"{s.name} = {shown}  # {s.help}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="VoiceRehearse settings", show_lines=False)
    for col in ("section", "name", "value", "unit"):
        table.add_column(col, no_wrap=True)
    table.add_column("meaning", overflow="fold", min_width=20)
    for s in SETTINGS:
        value = getattr(current, s.name)
        shown = f"[bold]{value}[/]" if value != s.default else str(value)
        table.add_row(s.section, s.name, shown, unit_of(s.name), s.help + (f" [dim]({allowed(s)})[/]" if allowed(s) else ""))
    Console().print(table)


MARKDOWN_HEAD = """# Settings

Every threshold VoiceRehearse uses, declared once in `voicerehearse/settings.py`. Override any of them in a
TOML file (`--config FILE`, or `$VOICEREHEARSE_CONFIG`), flat or grouped in `[section]` tables, or one at a time
with `--set NAME=VALUE`. `voicerehearse settings` prints the values in force; `voicerehearse settings --toml`
prints a complete file to start from. This page is `voicerehearse settings --markdown`.

Values outside a setting's allowed range, or that break a relation (a minimum above its maximum), are refused
with one line naming the setting.

| section | setting | default | allowed | unit | meaning |
|---|---|---|---|---|---|
"""


def allowed(s) -> str:
    """The allowed range of a setting as text (empty when any value of its type goes)."""
    return "" if s.low is None else f"{s.low:g} to {s.high:g}"


def markdown_table() -> str:
    from voicerehearse.settings import SETTINGS

    rows = "".join(f"| {s.section} | `{s.name}` | {s.default!r} | {allowed(s)} | {unit_of(s.name)} | {s.help} |\n"
                   for s in SETTINGS)
    return MARKDOWN_HEAD + rows
