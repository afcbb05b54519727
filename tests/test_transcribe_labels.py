"""A rough (fallback) transcript is labelled on the replay page and in every export; dim words by confidence."""

from __future__ import annotations

import copy
import json

import pytest

from test_report import _Html
from test_web import login, make_take
from voicerehearse.store import Store
from voicerehearse.transcribe.sphinx_engine import FALLBACK_NOTE, MODEL
from voicerehearse.web import create_app
from voicerehearse.web.ingest import add_session
from voicerehearse.accounts import add_user


@pytest.fixture(scope="module")
def rough_take(tmp_path_factory):
    take = make_take(tmp_path_factory.mktemp("rough"))
    record = copy.deepcopy(take["record"])
    record["transcript"].update(engine="pocketsphinx", model=MODEL, note=FALLBACK_NOTE)
    record["transcript"]["words"][1]["conf"] = 0.1
    return {**take, "record": record}


@pytest.fixture
def client(tmp_path, rough_take):
    store = Store.open(tmp_path / "data")
    sid = add_session(store, trainee="Dana", scenario_id="late_fee", scenario_title="Late-fee waiver",
                      source="practice", turns=[rough_take])
    with store.session() as db:
        add_user(db, "coach", "coach-password")
        db.commit()
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"})
    c = app.test_client()
    login(c)
    c.sid = sid
    return c


def test_replay_page_labels_the_rough_transcript_and_dims_unsure_words(client, rough_take):
    page = client.get(f"/sessions/{client.sid}").get_data(as_text=True)
    parser = _Html()
    parser.feed(page)
    labels = [t for c, t in parser.items if c == "rough-label"]
    assert len(labels) == 1 and FALLBACK_NOTE in labels[0]
    dimmed = [t for c, t in parser.items if "low-conf" in c.split()]
    assert dimmed == [rough_take["record"]["transcript"]["words"][1]["word"]]
    assert any(t.startswith("Transcript: pocketsphinx") for c, t in parser.items if c == "hint")


@pytest.mark.parametrize("fmt", ["html", "vtt", "json"])
def test_every_export_carries_the_label(client, fmt):
    body = client.get(f"/sessions/{client.sid}/export.{fmt}").get_data(as_text=True)
    if fmt == "json":
        turn = json.loads(body)["turns"][0]
        assert turn["transcript"]["rough"] and turn["transcript"]["label"] == FALLBACK_NOTE
    elif fmt == "vtt":
        cues = [b.splitlines()[2] for b in body.split("\n\n") if "-->" in b and not b.startswith("NOTE")]
        assert cues and all(c.startswith("[rough] ") for c in cues)
    else:
        parser = _Html()
        parser.feed(body)
        assert [t for c, t in parser.items if c == "rough-label"] == ["\u26a0 " + FALLBACK_NOTE]
