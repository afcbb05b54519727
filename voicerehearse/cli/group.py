"""The click command group: it resolves each command from the registry (``voicerehearse.cli.COMMANDS``) when
that command runs, and lists the registry's short helps, so its help imports no command either."""

from __future__ import annotations

import importlib

import click

from voicerehearse import __version__
from voicerehearse.cli import COMMANDS, HELP, HELP_OPTIONS, MAX_WIDTH, command_rows


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target[0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl(command_rows(formatter.width))


@click.group(cls=LazyGroup, help=HELP,
             context_settings={"help_option_names": HELP_OPTIONS, "max_content_width": MAX_WIDTH})
@click.version_option(__version__, prog_name="voicerehearse")
def main() -> None:
    pass
