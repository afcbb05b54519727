"""The verdict against a team's own coaches: the coach's call on the replay page, `voicerehearse verdict agreement`
and `voicerehearse verdict fit` (a refit anchored at the model in use, measured leave-one-trainee-out).

The known answer: three trainees each read a calm baseline and reply at 0, +2 ... +14 dB louder with the same
voice (loudness is the only cue that moves). This team's coaches call a reply aggressive from +6 dB on, stricter
than the shipped weights, which let a few dB more through. The refit must learn that from two trainees and
judge the third one as the coaches do."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from sqlalchemy import select

from synth import SR, noise, place, voice
from test_web import login
from voicerehearse.cli import main
from voicerehearse.delivery import load_model
from voicerehearse.pipeline import analyze_file, measure_baseline
from voicerehearse.schema import analysis_record
from voicerehearse.sessions import add_session
from voicerehearse.settings import load_settings
from voicerehearse.store import BaselineRecord, PracticeSession, Store, Turn
from voicerehearse.team_verdict import agreement, called_turns, current_agreement, judged, refit
from voicerehearse.web import create_app

LOUDER_DB = (0, 2, 4, 6, 8, 10, 12, 14)
COACH_FROM_DB = 6  # this team's coaches hear aggressive from here on


def coach_call(louder_db: float) -> str:
    return "aggressive" if louder_db >= COACH_FROM_DB else "assertive"


def build_team(base, url: str = "", names=("Ana", "Ben", "Cy"), louder_db=LOUDER_DB) -> Store:
    """A store (SQLite in ``base/data``, or ``url``) with one session per trainee, every turn called by a coach."""
    store = Store.open(base / "data", url=url)
    for k, name in enumerate(names):
        f0 = (140.0, 190.0, 230.0)[k]
        calm = place(4.0, (0.3, voice(3.4, f0=f0, level_db=-30, syllable_hz=4, seed=10 + k)), (0.0, noise(4.0, -75)))
        sf.write(base / f"{name}-calm.wav", calm, SR)
        baseline = measure_baseline(base / f"{name}-calm.wav")
        turns = []
        for louder in louder_db:
            path = base / f"{name}-{louder}.wav"
            reply = place(4.0, (0.3, voice(3.4, f0=f0, level_db=-30 + louder, syllable_hz=4, seed=10 + k)),
                          (0.0, noise(4.0, -75)))
            sf.write(path, reply, SR)
            turns.append({"audio": path, "record": analysis_record(analyze_file(path, baseline=baseline))})
        sid = add_session(store, trainee=name, scenario_id="late_fee", scenario_title="Late-fee waiver",
                          source="practice", turns=turns)
        with store.session() as db:
            practice = db.get(PracticeSession, sid)
            record = BaselineRecord(trainee_id=practice.trainee_id, audio_path=str(base / f"{name}-calm.wav"),
                                    measures=BaselineRecord.measures_of(baseline))
            db.add(record)
            db.flush()
            practice.baseline_id = record.id
            for turn, louder in zip(sorted(practice.turns, key=lambda t: t.index), louder_db):
                turn.coach_label, turn.coach_label_by = coach_call(louder), "coach"
            db.commit()
    return store


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A store with three trainees' sessions, every turn called by a coach."""
    base = tmp_path_factory.mktemp("team")
    return build_team(base), base


def test_called_turns_skip_what_cannot_be_judged_on_sqlite_and_postgresql(tmp_path, database_url):
    store = build_team(tmp_path, database_url, names=("Ana", "Ben"), louder_db=(0, 4, 8, 12, 14, 2))
    with store.session() as db:  # a coach also called a turn never analysed and one whose analysis failed
        practice = db.scalars(select(PracticeSession).order_by(PracticeSession.id)).first()
        sample = practice.turns[0]
        practice.turns.append(Turn(index=6, audio_path=sample.audio_path, analysis=None, coach_label="passive"))
        practice.turns.append(Turn(index=7, audio_path=sample.audio_path, coach_label="passive",
                                   analysis={"error": {"type": "AudioFormatError", "message": "cut short"}}))
        db.commit()
    calls = called_turns(store)
    assert len(calls.turns) == 12 and calls.left_out == 0
    fitted = refit(calls.turns, load_settings())
    assert fitted.after.turns == 12 and fitted.trainees == 2


def test_agreement_tallies_calls_against_verdicts():
    found = agreement([("aggressive", "aggressive"), ("aggressive", "assertive"), ("passive", "passive")])
    assert found.turns == 3 and found.recall("aggressive") == 0.5 and found.recall("passive") == 1.0
    assert found.recall("assertive") is None and found.uar == 0.75 and round(found.share, 3) == 0.667


def test_the_shipped_model_is_more_lenient_than_these_coaches(team):
    store, _ = team
    settings = load_settings()
    turns = called_turns(store).turns
    assert len(turns) == 3 * len(LOUDER_DB) and all(t.baseline is not None for t in turns)
    labels = {round(t.analysis.tone.loudness_delta_db): a.delivery.label for t, a in zip(turns, judged(turns, settings))}
    assert labels[0] == "assertive" and labels[14] == "aggressive"  # the two ends agree
    found = current_agreement(turns, settings)
    assert found.recall("assertive") == 1.0 and found.recall("aggressive") < 1.0  # misses +6 dB and up to a point
    # the figures the README quotes
    assert found.turns == 24 and round(100 * found.share) == 46 and round(found.uar, 3) == 0.567
    assert found.counts["aggressive"].get("aggressive", 0) == 2


def test_refit_learns_the_coaches_line_on_held_out_trainees(team, tmp_path):
    store, _ = team
    settings = load_settings()
    turns = called_turns(store).turns
    fitted = refit(turns, settings, strength=0.05)
    assert fitted.trainees == 3 and fitted.after.turns == len(turns)
    assert fitted.after.uar > fitted.before.uar and fitted.better
    assert fitted.after.recall("aggressive") == 1.0 and fitted.after.recall("assertive") == 1.0
    shipped = load_model()
    assert fitted.weights["raised_voice"] > 2 * shipped.weights["raised_voice"]  # loudness counts for more here
    # a cue that never moved in these turns keeps its shipped weight (the anchor holds it)
    assert fitted.weights["slow"] == pytest.approx(shipped.weights["slow"], abs=1e-3)
    # anchored at another model file, the refit starts there and is compared with it
    from voicerehearse.team_verdict import model_file

    (tmp_path / "team.toml").write_text(model_file(fitted, settings), encoding="utf-8")
    again = refit(turns, settings, anchor_model=str(tmp_path / "team.toml"))
    assert again.before.uar == 1.0 and not again.better  # nothing left to gain over a model that agrees already
    assert again.weights["raised_voice"] >= fitted.weights["raised_voice"]  # from there, not from the shipped one
    # a stronger anchor moves the model less
    held = refit(turns, settings, strength=50.0)
    assert abs(held.weights["raised_voice"] - shipped.weights["raised_voice"]) < \
        abs(fitted.weights["raised_voice"] - shipped.weights["raised_voice"])


def test_a_held_trainee_is_judged_without_their_own_calls(team):
    """Out of sample: whatever the coaches said of Cy, Cy's held-out verdicts stay the same."""
    store, _ = team
    settings = load_settings()
    turns = called_turns(store).turns
    flipped = [replace(t, coach_label="assertive" if t.coach_label == "aggressive" else "aggressive")
               if t.trainee == "Cy" else t for t in turns]
    cy = {t.turn_id for t in turns if t.trainee == "Cy"}
    held = {k: v for k, v in refit(turns, settings).held if k in cy}
    assert held == {k: v for k, v in refit(flipped, settings).held if k in cy}
    assert len(held) == len(LOUDER_DB)


def test_the_fit_sees_the_product_s_own_scores_with_words_and_without_a_baseline(tmp_path):
    """Scores the fit does not own (a words-per-minute reason, here without a baseline) are carried as offsets:
    prior + acoustic cues + offsets = the product's scores."""
    from voicerehearse.team_verdict import CalledTurn, _rows
    from voicerehearse.types import Transcript, Word

    path = tmp_path / "fast.wav"
    sf.write(path, place(5.0, (0.3, voice(4.4, f0=180, level_db=-14, syllable_hz=6, seed=3)), (0.0, noise(5.0, -75))),
             SR)
    words = tuple(Word(f"w{i}", round(0.3 + i * 0.2, 2), round(0.45 + i * 0.2, 2), 1.0) for i in range(22))
    analysis = analyze_file(path, transcript=Transcript("file", None, " ".join(w.word for w in words), words))
    assert any(r.unit == "wpm" for r in analysis.delivery.reasons)  # a pace reason from the words
    turn = CalledTurn(1, "Dee", "aggressive", analysis, None)
    settings = load_settings()
    x, offset, _ = _rows([turn], judged([turn], settings), settings)
    assert offset[0, 0] > 0.5  # the words' pace, on aggressive
    model = load_model()
    from voicerehearse.delivery_fit import logits

    z = logits(x, {"aggressive": model.prior.aggressive, "passive": model.prior.passive}, model.weights, offset)[0]
    s = analysis.delivery.scores
    assert np.allclose(z, [s.aggressive, s.passive, s.assertive], atol=2e-3)


def test_an_imported_call_is_judged_again_against_its_own_calibration_read(team, tmp_path):
    from voicerehearse.importing import import_call
    from voicerehearse.rehearsal.calibration import _store_baseline

    _, base = team
    store = Store.open(tmp_path / "data")
    calm = place(4.0, (0.3, voice(3.4, f0=170, level_db=-30, syllable_hz=4, seed=21)), (0.0, noise(4.0, -75)))
    sf.write(tmp_path / "data" / "calm.wav", calm, SR)  # a read is kept in the data directory
    _store_baseline(store, "Eve", tmp_path / "data" / "calm.wav", load_settings(), check=False)
    loud = place(4.0, (0.3, voice(3.4, f0=170, level_db=-18, syllable_hz=4, seed=21)), (0.0, noise(4.0, -75)))
    sf.write(tmp_path / "call.wav", loud, SR)
    result = import_call(store, tmp_path / "call.wav", trainee="Eve", settings=load_settings())
    with store.session() as db:
        turn = db.scalar(select(Turn).where(Turn.session_id == result.session_id))
        turn.coach_label = "aggressive"
        stored = turn.analysis["delivery"]["scores"]
        db.commit()
    (called,) = called_turns(store).turns
    assert called.baseline is not None and called.baseline.source == "calm.wav"
    (again,) = judged([called], load_settings())
    assert [again.delivery.scores.aggressive, again.delivery.scores.passive] == \
        [stored["aggressive"], stored["passive"]]
    # a session stored before it kept its read's id still finds the read by the name its analysis gives
    with store.session() as db:
        db.get(PracticeSession, result.session_id).baseline_id = None
        db.commit()
    assert called_turns(store).turns[0].baseline == called.baseline
    # and a read that is gone leaves the turn out, counted, rather than judging it against the defaults
    with store.session() as db:
        for record in db.scalars(select(BaselineRecord)):
            db.delete(record)
        db.commit()
    calls = called_turns(store)
    assert calls.turns == () and calls.left_out == 1


def test_refit_refuses_too_few_calls(team):
    store, _ = team
    from voicerehearse.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 12 turns of 2 trainees"):
        refit(called_turns(store, trainee="Ana").turns, load_settings(), strength=0.05)
    with pytest.raises(ConfigError, match="above 0"):
        refit(called_turns(store).turns, load_settings(), strength=0.0)


def test_verdict_commands_fit_write_a_model_that_the_settings_take(team, tmp_path):
    store, base = team
    runner = CliRunner()
    data = ["--data-dir", str(base / "data")]
    before = runner.invoke(main, ["verdict", "agreement", *data])
    assert before.exit_code == 0, before.output
    assert re.search(r"24 turns: agreement \d+ %", before.output) and "coach \\ verdict" in before.output
    out = tmp_path / "team.toml"
    r = runner.invoke(main, ["verdict", "fit", "--out", str(out), *data])
    assert r.exit_code == 0, r.output
    assert "agrees with your coaches better" in r.output and out.exists()
    model = load_model(out)  # a valid model file
    assert model.weights.keys() == load_model().weights.keys()
    after = runner.invoke(main, ["verdict", "agreement", "--json", "--set", f"delivery_model={out}", *data])
    assert json.loads(after.output)["uar"] == 1.0
    assert json.loads(runner.invoke(main, ["verdict", "agreement", "--json", *data]).output)["uar"] < 1.0
    # bad input: one line, no traceback
    bad = runner.invoke(main, ["verdict", "fit", "--out", str(tmp_path / "x.toml"), "--strength", "-1", *data])
    assert bad.exit_code == 1 and "above 0, got -1 (--strength)" in bad.output and "Traceback" not in bad.output
    alone = runner.invoke(main, ["verdict", "agreement", "--trainee", "Nobody", *data])
    assert alone.exit_code == 0 and "No turn has a coach's call yet" in alone.output


# ---------------------------------------------------------------- the coach's call on the replay page


@pytest.fixture
def web(team, tmp_path):
    from voicerehearse.accounts import add_user
    from voicerehearse.store import get_or_create_trainee

    import shutil

    store, base = team

    data = tmp_path / "data"
    shutil.copytree(base / "data", data)
    s = Store.open(data)
    with s.session() as db:
        add_user(db, "coach", "coach-password")
        add_user(db, "ana", "ana-password", get_or_create_trainee(db, "Ana"))
        db.commit()
        turn = db.scalar(select(Turn).join(PracticeSession).order_by(Turn.id))
        ids = {"turn": turn.id, "session": turn.session_id}
    app = create_app({"TESTING": True, "DATA_DIR": str(data), "SECRET_KEY": "test"})
    return app, s, ids


def _label_of(store, turn_id):
    with store.session() as db:
        t = db.get(Turn, turn_id)
        return t.coach_label, t.coach_label_by


def test_a_coach_sets_and_clears_the_call_and_the_agent_sees_it(web):
    app, store, ids = web
    coach = app.test_client()
    token = login(coach, "coach")
    page = coach.get(f"/sessions/{ids['session']}").get_data(as_text=True)
    assert 'class="coach-call"' in page and '<option value="assertive" selected>' in page  # the stored call
    r = coach.post(f"/turns/{ids['turn']}/coach-label", data={"csrf_token": token, "label": "passive"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"#turn-{ids['turn']}")
    assert _label_of(store, ids["turn"]) == ("passive", "coach")
    page = coach.get(f"/sessions/{ids['session']}").get_data(as_text=True)
    assert '<option value="passive" selected>' in page and "the verdict said assertive" in page
    r = coach.post(f"/turns/{ids['turn']}/coach-label", json={"label": "angry"}, headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert r.status_code == 400 and "Unknown style" in r.get_json()["error"]["message"]
    assert coach.post(f"/turns/{ids['turn']}/coach-label", data={"label": "aggressive"}).status_code == 400  # no CSRF
    assert _label_of(store, ids["turn"]) == ("passive", "coach")  # neither changed it
    # the agent reads the call and cannot change it
    agent = app.test_client()
    agent_token = login(agent, "ana")
    page = agent.get(f"/sessions/{ids['session']}").get_data(as_text=True)
    assert "Coach's call:" in page and 'class="passive-text">passive' in page and "Save call" not in page
    r = agent.post(f"/turns/{ids['turn']}/coach-label", data={"csrf_token": agent_token, "label": "assertive"})
    assert r.status_code == 403 and _label_of(store, ids["turn"]) == ("passive", "coach")
    # clearing the call
    r = coach.post(f"/turns/{ids['turn']}/coach-label", json={"label": ""}, headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert r.status_code == 200 and r.get_json()["coach_label"] is None
    assert _label_of(store, ids["turn"]) == (None, None)


def test_the_verdict_page_shows_coaches_where_the_verdict_differs(web):
    app, store, ids = web
    coach = app.test_client()
    login(coach, "coach")
    page = coach.get("/verdict").get_data(as_text=True)
    assert 'data-agreement="0.458"' in page and 'data-recall-aggressive="0.133"' in page  # 11 of 24; 2 of 15
    assert page.count('<tr data-turn="') == 13  # the 13 turns called aggressive that the verdict let through
    first = re.search(r'<tr data-turn="(\d+)"><td><a href="/sessions/(\d+)#turn-(\d+)"', page)
    assert first and first.group(1) == first.group(3)  # each links to its turn on its session's page
    assert "<td>Ana</td>" in page and "<td>Cy</td>" in page  # per trainee
    heard = re.findall(r'<td class="heard">(.*?)</td>', page)
    assert len(heard) == 13 and sum("a raised voice (aggressive, not enough)" in h for h in heard) >= 6
    assert 'data-label="calls-needed"' not in page  # 24 calls of 3 trainees: enough to refit
    assert 'href="/verdict"' in page  # in the coaches' menu
    agent = app.test_client()
    login(agent, "ana")
    assert agent.get("/verdict").status_code == 403
    assert 'href="/verdict"' not in agent.get("/").get_data(as_text=True)
