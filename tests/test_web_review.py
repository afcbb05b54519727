"""Coach review in the web report: top moments, each event once, the call card, scorecards, the review status,
replies, and who may do what (an agent sees only their own sessions, can acknowledge or dispute and reply, but
not score)."""

from __future__ import annotations

import re

import pytest

from test_web import csrf_of, login, make_take, seed  # noqa: F401  (fixtures below build on them)
from voicerehearse.web import create_app


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    return make_take(tmp_path_factory.mktemp("take"))


@pytest.fixture
def env(tmp_path, take):
    ids = seed(tmp_path / "data", take)
    ids["app"] = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"})
    return ids


def client(env, user):
    c = env["app"].test_client()
    c.token = login(c, user)
    return c


def post(c, url, **data):
    return c.post(url, data={"csrf_token": c.token, **data})


def page(c, sid) -> str:
    r = c.get(f"/sessions/{sid}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_top_moments_each_event_once_and_no_internals(env):
    html = page(client(env, "coach"), env["dana_session"])
    moments = re.search(r'id="top-moments".*?</section>', html, re.S).group(0)
    assert moments.count('class="moment ') == 3
    assert "Talking over the customer" in moments and "Cutting in tells the customer" in moments
    plays = [float(x) for x in re.findall(r'data-play="([\d.]+)"', moments)]
    ats = [float(x) for x in re.findall(r'data-at="([\d.]+)"', moments)]
    assert all(0 <= p < a for p, a in zip(plays, ats))  # plays from a little before the moment
    events = re.search(r'<ul class="flags events">.*?</ul>', html, re.S).group(0)
    kinds = re.findall(r'<li class="[^"]*" data-kind="([a-z_]+)"', events)
    assert len(kinds) == len(set(kinds)) and {"interruption", "raised_voice", "ultimatum"} <= set(kinds)
    assert "Why: reasons" not in html and "<h3>Flags</h3>" not in html  # one list, not two
    # the whole-reply cues are badges; the waveform data holds only the timed events
    badges = re.search(r'<p class="reply-cues".*?</p>', html, re.S).group(0)
    assert "A raised voice" in badges
    data = re.search(r'id="replay-data">(.*?)</script>', html, re.S).group(1)
    assert '"raised_voice"' not in data and '"interruption"' in data
    shown = re.sub(r"<script.*?</script>|<[^>]+>", " ", html, flags=re.S)
    assert "baseline.wav" not in shown and "raised_voice" not in shown and "217.6" not in shown
    assert re.search(r"\d+\.\d{3} ", shown) is None  # no raw three-decimal figures


def test_figures_show_effort_and_voice_quality_against_the_reference(env, take):
    html = page(client(env, "coach"), env["dana_session"])
    figures = re.sub(r"<[^>]+>", " ", re.search(r'<table class="figures">.*?</table>', html, re.S).group(0))
    tone = take["record"]["tone"]
    for label, key in (("vocal effort", "alpha_ratio_delta_db"), ("voice tension (H1−A3)", "h1_a3_delta_db"),
                       ("brightness", "brightness_delta_db")):
        assert tone[key] is not None
        assert re.search(re.escape(label) + r"\s+" + re.escape(f"{tone[key]:+.1f}") + r"\s*dB", figures), label


def test_practice_call_card_and_scorecard_with_evidence(env):
    html = page(client(env, "coach"), env["dana_session"])
    card = re.search(r'id="call-card".*?</section>', html, re.S).group(0)
    assert "Agent talk ratio" in card and "Interactivity" in card and "Dead air" in card
    sc = re.search(r'id="scorecard".*?</section>', html, re.S).group(0)
    assert "Lets the customer finish" in sc and 'class="link evidence"' in sc
    assert '<select name="protects-company"' in sc and '<select name="calm-tone"' in sc


def test_coach_scores_and_the_score_is_found_after_reload(env):
    coach = client(env, "coach")
    sid = env["dana_session"]
    r = post(coach, f"/sessions/{sid}/scorecard", **{"protects-company": "yes", "calm-tone": "2"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/sessions/{sid}#scorecard")
    card = coach.get(f"/api/sessions/{sid}/scorecard").get_json()
    answers = {c["id"]: c["points"] for c in card["criteria"]}
    assert answers["protects-company"] == 1.0 and answers["calm-tone"] == 0.25
    assert card["complete"] and card["passed"] is False and card["score_pct"] is not None
    html = page(coach, sid)
    assert f"score {card['score_pct']:.0f} %" in html
    assert re.search(r'<option value="2" selected>', html)
    # exports carry the same score
    export = coach.get(f"/sessions/{sid}/export.html").get_data(as_text=True)
    assert f"{card['score_pct']:.0f} %" in export and "Top moments" in export and "Call figures" in export


@pytest.mark.parametrize("answers, message", [({"calm-tone": "9"}, "1 to 5"), ({"nope": "yes"}, "no criterion"),
                                              ({"lets-customer-finish": "yes"}, "automatically")])
def test_bad_scorecard_answers_are_400(env, answers, message):
    coach = client(env, "coach")
    r = coach.post(f"/sessions/{env['dana_session']}/scorecard", json=answers,
                   headers={"X-CSRF-Token": coach.token, "Accept": "application/json"})
    assert r.status_code == 400 and message in r.get_json()["error"]["message"]


def test_agent_acknowledges_or_disputes_but_cannot_score(env):
    dana, sid = client(env, "dana"), env["dana_session"]
    assert post(dana, f"/sessions/{sid}/scorecard", **{"calm-tone": "5"}).status_code == 403
    assert post(dana, f"/sessions/{sid}/status", status="reviewed").status_code == 403
    assert post(dana, f"/sessions/{sid}/status", status="disputed").status_code == 400  # a dispute needs a reason
    r = post(dana, f"/sessions/{sid}/status", status="disputed", reason="The customer had stopped talking")
    assert r.status_code == 303
    html = page(dana, sid)
    assert 'data-status="disputed"' in html and "The customer had stopped talking" in html
    assert '<select name="calm-tone"' not in html  # no scoring controls for the agent
    assert post(dana, f"/sessions/{sid}/status", status="acknowledged").status_code == 303
    assert 'data-status="acknowledged"' in page(client(env, "coach"), sid)


def test_coach_marks_reviewed_and_shared_but_not_acknowledged(env):
    coach, sid = client(env, "coach"), env["dana_session"]
    assert post(coach, f"/sessions/{sid}/status", status="acknowledged").status_code == 403
    assert post(coach, f"/sessions/{sid}/status", status="bogus").status_code == 400
    for status in ("reviewed", "shared"):
        assert post(coach, f"/sessions/{sid}/status", status=status).status_code == 303
        assert f'data-status="{status}"' in page(coach, sid)


def test_an_agent_sees_only_their_own_sessions(env):
    sam, sid, tid = client(env, "sam"), env["dana_session"], env["dana_turn"]
    assert sam.get(f"/sessions/{sid}").status_code == 404
    assert post(sam, f"/sessions/{sid}/status", status="acknowledged").status_code == 404
    assert sam.get(f"/api/sessions/{sid}/scorecard").status_code == 404
    coach = client(env, "coach")
    r = coach.post(f"/api/turns/{tid}/comments", json={"start_s": 2.6, "text": "Let them finish"},
                   headers={"X-CSRF-Token": coach.token})
    cid = r.get_json()["comment"]["id"]
    assert sam.post(f"/api/comments/{cid}/replies", json={"text": "x"},
                    headers={"X-CSRF-Token": sam.token}).status_code == 404


def test_agent_replies_to_a_comment(env):
    coach, dana, tid = client(env, "coach"), client(env, "dana"), env["dana_turn"]
    cid = coach.post(f"/api/turns/{tid}/comments", json={"start_s": 2.6, "text": "Let them finish"},
                     headers={"X-CSRF-Token": coach.token}).get_json()["comment"]["id"]
    assert dana.post(f"/api/comments/{cid}/replies", json={"text": " "},
                     headers={"X-CSRF-Token": dana.token}).status_code == 400
    r = dana.post(f"/api/comments/{cid}/replies", json={"text": "I will <b>wait</b>"},
                  headers={"X-CSRF-Token": dana.token})
    assert r.status_code == 201 and r.get_json()["reply"]["author"] == "dana"
    listed = coach.get(f"/api/turns/{tid}/comments").get_json()["comments"]
    assert listed[0]["replies"] == [{"author": "dana", "text": "I will <b>wait</b>"}]
    assert coach.post(f"/api/comments/999999/replies", json={"text": "x"},
                      headers={"X-CSRF-Token": coach.token}).status_code == 404


def test_anonymous_is_refused(env):
    c = env["app"].test_client()
    token = csrf_of(c)
    assert c.post(f"/sessions/{env['dana_session']}/status", data={"csrf_token": token,
                                                                   "status": "reviewed"}).status_code == 401
    assert c.get(f"/api/sessions/{env['dana_session']}/scorecard").status_code == 401


def test_a_retried_take_is_labelled(env, take):
    from voicerehearse.sessions import add_session

    record = {**take["record"], "practice": {"turn": 1, "take": 2}}
    sid = add_session(env["store"], trainee="Sam", scenario_id="late_fee", scenario_title="Late-fee waiver",
                      source="practice", turns=[{**take, "record": record}])
    assert '<span class="take-tag">take 2</span>' in page(client(env, "coach"), sid)


def test_pdf_export_carries_the_review(env):
    pytest.importorskip("weasyprint")
    coach = client(env, "coach")
    post(coach, f"/sessions/{env['dana_session']}/scorecard", **{"protects-company": "yes", "calm-tone": "4"})
    r = coach.get(f"/sessions/{env['dana_session']}/export.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert 'filename="voicerehearse-session-' in r.headers["Content-Disposition"]
    dana = client(env, "dana")
    assert dana.get(f"/sessions/{env['dana_session']}/export.pdf").status_code == 200  # the agent's own
    assert dana.get(f"/sessions/{env['sam_session']}/export.pdf").status_code == 404


def test_pdf_without_the_renderer_is_a_clear_501(env, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_weasyprint(name, *args, **kwargs):
        if name == "weasyprint":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_weasyprint)
    r = client(env, "coach").get(f"/sessions/{env['dana_session']}/export.pdf", headers={"Accept": "application/json"})
    assert r.status_code == 501 and "WeasyPrint" in r.get_json()["error"]["message"]
