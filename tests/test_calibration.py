"""Coach calibration: two or more coaches score one session through the page, and the calibration view shows
their answers side by side with where they agree. Coaches only."""

from __future__ import annotations

import re

import pytest

from test_web import login, seed
from test_web_review import client, take  # noqa: F401  (take: the module's recorded take fixture)
from voicerehearse.accounts import add_user
from voicerehearse.web import create_app


@pytest.fixture
def env(tmp_path, take):
    ids = seed(tmp_path / "data", take)
    with ids["store"].session() as db:
        add_user(db, "second", "second-password")
        add_user(db, "third", "third-password")
        db.commit()
    ids["app"] = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"})
    return ids


def score(env, user, **answers):
    c = client(env, user)
    r = c.post(f"/sessions/{env['dana_session']}/scorecard", data={"csrf_token": c.token, **answers})
    assert r.status_code == 303
    return c


def rows(html) -> dict[str, tuple[list[str], str]]:
    found = {}
    for cid, agreed, cells in re.findall(r'<tr data-criterion="([^"]+)" data-agreed="([^"]*)">(.*?)</tr>', html, re.S):
        found[cid] = ([re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", cells, re.S)][1:-1],
                      agreed)
    return found


def test_two_coaches_side_by_side_with_their_agreement(env):
    score(env, "coach", **{"protects-company": "yes", "calm-tone": "2"})
    second = score(env, "second", **{"protects-company": "yes", "calm-tone": "4"})
    r = second.get(f"/sessions/{env['dana_session']}/calibration")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert re.findall(r"<th>(coach|second)</th>", html) == ["coach", "second"]
    found = rows(html)
    assert found["protects-company"] == (["yes", "yes"], "yes")
    assert found["calm-tone"] == (["2 of 5", "4 of 5"], "no")  # two points apart: more than the tolerance of 1
    assert 'data-agreement="50.0"' in html
    spread = float(re.search(r'data-spread="([\d.]+)"', html).group(1))
    assert spread > 0  # same automatic criteria, different coach answers: different scores


def test_the_tolerance_is_a_setting(env, tmp_path):
    score(env, "coach", **{"protects-company": "no", "calm-tone": "2"})
    score(env, "second", **{"protects-company": "no", "calm-tone": "4"})
    score(env, "third", **{"protects-company": "no", "calm-tone": "3"})
    loose = tmp_path / "loose.toml"
    loose.write_text("calibration_scale_tolerance_points = 2\n")
    from voicerehearse.settings import load_settings

    app = create_app({"TESTING": True, "DATA_DIR": env["app"].config["DATA_DIR"], "SECRET_KEY": "test",
                      "SETTINGS": load_settings(loose)})
    c = app.test_client()
    login(c, "coach")
    html = c.get(f"/sessions/{env['dana_session']}/calibration").get_data(as_text=True)
    assert rows(html)["calm-tone"] == (["2 of 5", "4 of 5", "3 of 5"], "yes") and 'data-agreement="100.0"' in html


def test_one_coach_is_told_calibration_needs_two_and_the_list_links_it(env):
    coach = score(env, "coach", **{"protects-company": "yes"})
    html = coach.get(f"/sessions/{env['dana_session']}/calibration").get_data(as_text=True)
    assert 'data-label="calibration-needs-two"' in html and "Only coach has scored" in html
    listing = coach.get(f"/trainees/{env['dana']}").get_data(as_text=True)
    assert "/calibration" not in listing  # one scorecard: nothing to compare yet
    score(env, "second", **{"protects-company": "no"})
    listing = coach.get(f"/trainees/{env['dana']}").get_data(as_text=True)
    assert f'href="/sessions/{env["dana_session"]}/calibration"' in listing and "2 coaches" in listing
    assert rows(coach.get(f"/sessions/{env['dana_session']}/calibration").get_data(as_text=True))[
        "calm-tone"] == (["–", "–"], "")  # answered by nobody: not judged


def test_only_coaches_see_calibration(env):
    score(env, "coach", **{"protects-company": "yes"})
    dana = client(env, "dana")
    assert dana.get(f"/sessions/{env['dana_session']}/calibration").status_code == 403
    assert "/calibration" not in dana.get(f"/trainees/{env['dana']}").get_data(as_text=True)
    sam = client(env, "sam")
    assert sam.get(f"/sessions/{env['dana_session']}/calibration").status_code == 403
    anonymous = env["app"].test_client()
    assert anonymous.get(f"/sessions/{env['dana_session']}/calibration").status_code in (302, 401)
    assert client(env, "coach").get("/sessions/999999/calibration").status_code == 404
