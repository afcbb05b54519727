"""``voicerehearse verdict``: the verdict against the team's own coaches, and a refit of its weights on them.

Coaches set "Your call" on a turn of the replay page; ``agreement`` tallies those calls against what the verdict
says, ``fit`` refits the weights on them (anchored at the shipped model, measured leave-one-trainee-out) and writes
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
    calls = called_turns(store, trainee=trainee)
    found = current_agreement(calls.turns, settings)
    if as_json:
        click.echo(json.dumps({"turns": found.turns, "left_out": calls.left_out, "counts": found.counts,
                               "agreement": found.share, "uar": found.uar,
                               "recall": {s: found.recall(s) for s in STYLES}}))
        return
    _left_out(calls)
    if not calls.turns:
        click.echo("No turn has a coach's call yet: set 'Your call' on a turn of the replay page "
                   "(`voicerehearse serve`).")
        return
    click.echo(found.summary())
    click.echo("\n".join(_table(found)))


def _left_out(calls) -> None:
    if calls.left_out:
        click.echo(f"{calls.left_out} called turn(s) left out: the calibration read they were judged against is no "
                   "longer stored", err=True)


@verdict.command("fit")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Write the refitted model here (TOML), for the delivery_model setting.")
@click.option("--strength", type=float, default=None,
              help="How strongly the refit keeps the shipped weights (larger: the calls move them less). "
                   "Default: the verdict_fit_anchor_weight setting.")
@config_option
@set_option
@data_dir_option
@domain_errors
def fit_cmd(out, strength, config, overrides, data_dir):
    """Refit the verdict's weights on your coaches' calls and write the model to --out.

    The refit starts at the shipped weights and moves only as far as the calls ask. It is measured
    leave-one-trainee-out (each trainee's turns judged by weights fitted on the other trainees' calls) against
    the shipped model on the same turns; use the file with `delivery_model = "FILE"` in your settings file when it
    agrees with your coaches better. Needs the turns of `verdict_fit_min_turn_count` and `verdict_fit_min_trainee_count`
    (see `voicerehearse settings`), called in two styles or more.
    """
    from voicerehearse.team_verdict import called_turns, current_agreement, model_file, refit

    settings, store = _open(config, overrides, data_dir)
    calls = called_turns(store)
    _left_out(calls)
    click.echo(f"refitting on {len(calls.turns)} called turn(s) ...", err=True)
    team = refit(calls.turns, settings, strength=strength)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(model_file(team, settings), encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(f"shipped model: {team.before.summary()}")
    if settings.delivery_model:
        click.echo(f"model in use ({settings.delivery_model}): {current_agreement(calls.turns, settings).summary()} "
                   "- not a fair comparison when it was fitted on these calls")
    click.echo(f"refit (leave-one-trainee-out): {team.after.summary()}")
    if team.better:
        click.echo(f"wrote {out}: it agrees with your coaches better than the shipped model on trainees it was not "
                   f'fitted to. Use it with delivery_model = "{out.resolve()}" in your settings file.')
    else:
        click.echo(f"wrote {out}, but it does not agree with your coaches better than the shipped model on trainees "
                   "it was not fitted to: keep the shipped model, and call more turns first.")
