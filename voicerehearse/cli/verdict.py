"""``voicerehearse verdict``: the verdict against the team's own coaches, and a refit of its weights on them.

Coaches set "Your call" on a turn of the replay page; ``agreement`` tallies those calls against what the verdict
says, ``fit`` refits the weights on them (anchored at the model in use, measured leave-one-trainee-out) and writes
a model file for the ``delivery_model`` setting.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from voicerehearse.cli.common import config_option, domain_errors, set_option
from voicerehearse.cli.sessions import data_dir_option
from voicerehearse.labels import STYLES


@click.group()
def verdict() -> None:
    """The verdict against your coaches' own calls, and a refit of its weights on them."""


def _open(config, overrides, data_dir):
    from voicerehearse.settings import load_settings
    from voicerehearse.store import Store

    settings = load_settings(config, overrides=overrides)
    return settings, Store.open(data_dir, settings=settings)


def _table(agreement) -> list[str]:
    """Coach's call per row, the verdict per column."""
    lines = ["coach \\ verdict\t" + "\t".join(STYLES)]
    for coach in STYLES:
        row = agreement.counts.get(coach)
        if row:
            lines.append(f"{coach}\t" + "\t".join(str(row.get(v, 0)) for v in STYLES))
    return lines


@verdict.command("agreement")
@click.option("--trainee", default=None, help="Only this trainee's turns.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the counts and the figures.")
@config_option
@set_option
@data_dir_option
@domain_errors
def agreement_cmd(trainee, as_json, config, overrides, data_dir):
    """How often the verdict says what your coaches said: per style, over every turn a coach called.

    The verdict is judged again with the settings in use (and the model they name), so after `verdict fit` and a
    new `delivery_model` setting this shows what the new model says.
    """
    from voicerehearse.team_verdict import called_turns, current_agreement

    settings, store = _open(config, overrides, data_dir)
    turns = called_turns(store, trainee=trainee)
    found = current_agreement(turns, settings)
    if as_json:
        click.echo(json.dumps({"turns": found.turns, "counts": found.counts, "agreement": found.share,
                               "uar": found.uar, "recall": {s: found.recall(s) for s in STYLES}}))
        return
    if not turns:
        click.echo("No turn has a coach's call yet: set 'Your call' on a turn of the replay page "
                   "(`voicerehearse serve`).")
        return
    click.echo(found.summary())
    click.echo("\n".join(_table(found)))


@verdict.command("fit")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Write the refitted model here (TOML), for the delivery_model setting.")
@click.option("--strength", type=float, default=0.05, show_default=True,
              help="How strongly the refit stays at the model in use (larger: closer; the calls move it less).")
@config_option
@set_option
@data_dir_option
@domain_errors
def fit_cmd(out, strength, config, overrides, data_dir):
    """Refit the verdict's weights on your coaches' calls and write the model to --out.

    The refit starts at the model in use and moves only as far as the calls ask. It is measured
    leave-one-trainee-out (each trainee's turns judged by weights fitted on the other trainees' calls) against
    the model in use on the same turns; use the file with `delivery_model = "FILE"` in your settings file when it
    agrees with your coaches better. Needs at least 12 called turns of 2 trainees in two styles.
    """
    from voicerehearse.team_verdict import called_turns, model_file, refit

    settings, store = _open(config, overrides, data_dir)
    turns = called_turns(store)
    click.echo(f"refitting on {len(turns)} called turn(s) ...", err=True)
    team = refit(turns, settings, strength=strength)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(model_file(team, settings, strength), encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(f"model in use:  {team.before.summary()}")
    click.echo(f"refit (leave-one-trainee-out): {team.after.summary()}")
    if team.better:
        click.echo(f"wrote {out}: it agrees with your coaches better on trainees it was not fitted to. Use it with "
                   f'delivery_model = "{out.resolve()}" in your settings file.')
    else:
        click.echo(f"wrote {out}, but it does not agree with your coaches better than the model in use on trainees "
                   "it was not fitted to: keep the model in use, and call more turns first.")
