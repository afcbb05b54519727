import pytest
from sqlalchemy import select, text

from voicerehearse.store import BaselineRecord, Comment, PracticeSession, Store, StoreError, Turn, get_or_create_trainee
from voicerehearse.types import Baseline


@pytest.fixture
def store(tmp_path, database_url):
    """A fresh store on SQLite and, as a second variant, on PostgreSQL."""
    store = Store.open(tmp_path / "data", url=database_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path):
    return Store.open(tmp_path / "data")


def test_sqlite_in_wal_mode_with_foreign_keys(sqlite_store):
    store = sqlite_store
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (store.data_dir / "voicerehearse.db").is_file()


def test_session_turns_comments_and_headline_figures(store):
    record = {"duration_s": 4.2, "delivery": {"label": "aggressive"}, "pace": {"words_per_minute": 171.0},
              "tone": {"loudness_delta_db": 7.5, "pitch_delta_st": 3.0},
              "turn": {"response_latency_s": -0.4, "interrupted": True}}
    with store.session() as db:
        trainee = get_or_create_trainee(db, "Dana")
        session = PracticeSession(trainee=trainee, scenario_id="late_fee", scenario_title="Late-fee waiver")
        turn = Turn(index=0, audio_path="audio/1/turn-0.wav")
        turn.set_analysis(record)
        session.turns.append(turn)
        turn.comments.append(Comment(start_s=1.5, end_s=2.0, text="Let them finish <here>"))
        db.add(session)
        db.commit()
    with store.session() as db:
        turn = db.scalar(select(Turn))
        assert (turn.label, turn.words_per_minute, turn.interrupted, turn.duration_s) == ("aggressive", 171.0, True, 4.2)
        assert turn.analysis == record
        assert turn.comments[0].text == "Let them finish <here>"
        assert get_or_create_trainee(db, "Dana").id == turn.session.trainee.id
        db.delete(turn.session)
        db.commit()
        assert db.scalar(select(Comment)) is None


@pytest.mark.parametrize("quality", [(), (14.5, -9.8)])  # a read measured before voice quality, and after
def test_baseline_round_trip(store, quality):
    b = Baseline(-27.0, 180.0, 1.9, -12.0, 4.1, "calm.wav", *quality)
    with store.session() as db:
        trainee = get_or_create_trainee(db, "Sam")
        db.add(BaselineRecord(trainee=trainee, audio_path="audio/baselines/calm.wav", measures=BaselineRecord.measures_of(b)))
        db.commit()
        assert db.scalar(select(BaselineRecord)).to_baseline() == b


@pytest.mark.parametrize("bad", ["../outside.wav", "audio/../../etc/passwd", "/etc/passwd"])
def test_paths_never_leave_the_data_directory(store, bad):
    with pytest.raises(StoreError):
        store.resolve_audio(bad)


def test_relative_paths(store):
    path = store.audio_dir("7") / "turn-0.wav"
    path.write_bytes(b"x")
    rel = store.relative(path)
    assert rel == "audio/7/turn-0.wav" and store.resolve_audio(rel) == path.resolve()


def test_unusable_data_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot use data directory"):
        Store.open(blocker / "sub")


def test_data_is_private_to_its_owner(sqlite_store):
    import stat

    store = sqlite_store
    for path in (store.data_dir, store.data_dir / "audio"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.data_dir / "voicerehearse.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_trainee_names_must_be_sensible(store, name):
    with store.session() as db, pytest.raises(StoreError, match="1 to 120 characters"):
        get_or_create_trainee(db, name)


def test_an_older_database_gets_the_new_columns(tmp_path):
    import sqlite3

    data = tmp_path / "old"
    data.mkdir()
    with sqlite3.connect(data / "voicerehearse.db") as conn:  # the users table before session_version
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(120) UNIQUE, "
                     "password_hash VARCHAR(300), role VARCHAR(20), trainee_id INTEGER, created_at DATETIME)")
        conn.execute("INSERT INTO users (username, password_hash, role) VALUES ('alex', 'x', 'coach')")
    from voicerehearse.store import User

    with Store.open(data).session() as db:
        assert db.scalar(select(User)).session_version == 0


def test_a_failed_session_write_stores_nothing_and_keeps_the_file(store, tmp_path):
    from voicerehearse.sessions import add_session

    src = tmp_path / "upload.wav"
    src.write_bytes(b"RIFF data")
    for bad in ({"trainee": " "}, {"turns": [{"audio": src, "record": {"duration_s": "not a number"}, "move": True}]}):
        args = {"trainee": "Dana", "scenario_id": "s", "scenario_title": "S", "source": "import",
                "turns": [{"audio": src, "record": {}, "move": True}], **bad}
        with pytest.raises(Exception):
            add_session(store, **args)
        assert src.read_bytes() == b"RIFF data"  # never deleted on failure
        with store.session() as db:
            assert db.scalar(select(PracticeSession)) is None
        assert not any((store.data_dir / "audio" / "incoming").iterdir())


def test_a_moved_upload_leaves_its_name_only_once_committed(store, tmp_path):
    from voicerehearse.sessions import add_session

    src = tmp_path / "upload.wav"
    src.write_bytes(b"RIFF data")
    sid = add_session(store, trainee="Dana", scenario_id="s", scenario_title="S", source="import",
                      turns=[{"audio": src, "record": {}, "move": True}])
    assert not src.exists()
    with store.session() as db:
        turn = db.scalar(select(Turn).where(Turn.session_id == sid))
        assert store.resolve_audio(turn.audio_path).read_bytes() == b"RIFF data"


# ---------------------------------------------------------------- session summaries


def _record(label, wpm=None, loud=None, latency=None, interrupted=False, duration=2.0):
    return {"duration_s": duration, "delivery": {"label": label}, "pace": {"words_per_minute": wpm},
            "tone": {"loudness_delta_db": loud, "pitch_delta_st": None},
            "turn": {"response_latency_s": latency, "interrupted": interrupted}}


def _summary(store, session_id):
    from voicerehearse.store import SUMMARY_COLUMNS

    with store.session() as db:
        row = db.get(PracticeSession, session_id)
        return {name: getattr(row, name) for name in SUMMARY_COLUMNS}


def test_a_saved_session_carries_its_summary(store, tmp_path):
    from voicerehearse.sessions import add_session

    take = tmp_path / "t.wav"
    take.write_bytes(b"RIFF")
    turns = [{"audio": take, "record": _record("passive", 100.0, -3.0, 0.5, duration=2.0)},
             {"audio": take, "record": _record("aggressive", 180.0, 7.0, -0.2, True, duration=3.0)},
             {"audio": take, "record": _record("passive", None, None, 1.5, duration=1.5)}]
    sid = add_session(store, trainee="Dana", scenario_id="s", scenario_title="S", source="import", turns=turns)
    summary = _summary(store, sid)
    assert (summary["turn_count"], summary["passive_count"], summary["aggressive_count"],
            summary["assertive_count"]) == (3, 2, 1, 0)
    assert summary["verdict"] == "passive"
    assert summary["duration_s"] == pytest.approx(6.5)
    assert summary["mean_wpm"] == pytest.approx(140.0)  # turns without a figure are left out of the mean
    assert summary["mean_loudness_delta_db"] == pytest.approx(2.0)
    assert summary["mean_pitch_delta_st"] is None
    assert summary["mean_latency_s"] == pytest.approx(0.6)
    assert (summary["interruption_count"], summary["comment_count"]) == (1, 0)


@pytest.mark.parametrize("labels, verdict", [
    ((), None), ((None,), None), (("assertive",), "assertive"), (("assertive", "passive"), "passive"),
    (("passive", "aggressive"), "aggressive"), (("assertive", "assertive", "aggressive"), "assertive"),
    (("aggressive", "passive", "passive"), "passive"),
])
def test_the_session_verdict_is_the_majority_with_ties_to_the_worst_style(store, labels, verdict):
    with store.session() as db:
        session = PracticeSession(trainee=get_or_create_trainee(db, "Dana"), scenario_id="s", scenario_title="S")
        for i, label in enumerate(labels):
            turn = Turn(index=i, audio_path=f"audio/x/{i}.wav")
            turn.set_analysis(_record(label))
            session.turns.append(turn)
        db.add(session)
        db.commit()
        sid = session.id
    assert _summary(store, sid)["verdict"] == verdict
    assert _summary(store, sid)["turn_count"] == len(labels)


def test_turns_added_later_and_comments_keep_the_summary_current(store):
    """The rehearsal stores a turn before its analysis, then the analysis; coaches comment and delete."""
    with store.session() as db:
        session = PracticeSession(trainee=get_or_create_trainee(db, "Dana"), scenario_id="s", scenario_title="S")
        db.add(session)
        db.commit()
        sid = session.id
        assert session.turn_count == 0 and session.verdict is None
        turn = Turn(session_id=sid, index=0, audio_path="audio/x/0.wav")
        db.add(turn)
        db.commit()
        assert (session.turn_count, session.verdict) == (1, None)  # loaded rows see the new figures
        turn.set_analysis(_record("aggressive", 170.0))
        db.commit()
        assert (session.verdict, session.mean_wpm) == ("aggressive", 170.0)
        comment = Comment(turn_id=turn.id, start_s=0.5, text="slower")
        db.add(comment)
        db.add(Comment(turn_id=turn.id, start_s=1.0, text="breathe"))
        db.commit()
        assert session.comment_count == 2
        db.delete(comment)
        db.commit()
        assert session.comment_count == 1
        db.delete(turn)
        db.commit()
        assert (session.turn_count, session.comment_count, session.verdict, session.mean_wpm) == (0, 0, None, None)


def test_summaries_are_backfilled_when_the_store_opens(tmp_path):
    """Sessions stored before the summary columns existed (or by an older summary) get them on open."""
    store = Store.open(tmp_path / "data")
    with store.session() as db:
        session = PracticeSession(trainee=get_or_create_trainee(db, "Dana"), scenario_id="s", scenario_title="S")
        for i, label in enumerate(("assertive", "assertive")):
            turn = Turn(index=i, audio_path=f"audio/x/{i}.wav")
            turn.set_analysis(_record(label, 130.0))
            session.turns.append(turn)
        db.add(session)
        db.commit()
        sid = session.id
    with store.engine.begin() as conn:  # what a database from before the summaries holds
        conn.execute(text("UPDATE sessions SET turn_count = NULL, assertive_count = NULL, verdict = NULL, "
                          "mean_wpm = NULL, summary_version = NULL"))
        conn.execute(text("DROP INDEX ix_sessions_trainee_started"))
    reopened = Store.open(tmp_path / "data")
    summary = _summary(reopened, sid)
    assert (summary["turn_count"], summary["assertive_count"], summary["verdict"], summary["mean_wpm"]) == \
        (2, 2, "assertive", 130.0)
    with reopened.engine.connect() as conn:
        names = [row[1] for row in conn.execute(text("PRAGMA index_list(sessions)"))]
    assert "ix_sessions_trainee_started" in names


def test_an_older_database_gets_the_summary_columns(tmp_path):
    import sqlite3

    data = tmp_path / "old"
    data.mkdir()
    with sqlite3.connect(data / "voicerehearse.db") as conn:  # the sessions and turns tables before summaries
        conn.execute("CREATE TABLE trainees (id INTEGER PRIMARY KEY, name VARCHAR(120) UNIQUE, created_at DATETIME)")
        conn.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, trainee_id INTEGER REFERENCES trainees(id), "
                     "scenario_id VARCHAR(120), scenario_title VARCHAR(300), source VARCHAR(20), status VARCHAR(20), "
                     "started_at DATETIME, ended_at DATETIME, baseline_id INTEGER, note TEXT)")
        conn.execute("CREATE TABLE turns (id INTEGER PRIMARY KEY, session_id INTEGER REFERENCES sessions(id), "
                     "\"index\" INTEGER, customer_text TEXT, audio_path VARCHAR(500), prompt_start_s FLOAT, "
                     "duration_s FLOAT, analysis JSON, label VARCHAR(20), words_per_minute FLOAT, "
                     "loudness_delta_db FLOAT, pitch_delta_st FLOAT, response_latency_s FLOAT, interrupted BOOLEAN, "
                     "created_at DATETIME)")
        conn.execute("INSERT INTO trainees (id, name) VALUES (1, 'Dana')")
        conn.execute("INSERT INTO sessions (id, trainee_id, scenario_id, scenario_title, source, status, started_at) "
                     "VALUES (1, 1, 's', 'S', 'import', 'complete', '2026-01-01 10:00:00')")
        conn.execute("INSERT INTO turns (session_id, \"index\", audio_path, label, duration_s, interrupted) "
                     "VALUES (1, 0, 'a.wav', 'aggressive', 2.5, 1)")
    summary = _summary(Store.open(data), 1)
    assert (summary["turn_count"], summary["verdict"], summary["duration_s"], summary["interruption_count"]) == \
        (1, "aggressive", 2.5, 1)


def test_summaries_stay_right_when_two_transactions_write_one_session(store):
    """A coach comments while a take of the same session is being stored: the second transaction to commit
    waits for the first and then counts what the first committed (PostgreSQL: many writers at once)."""
    import threading

    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time")
    with store.session() as db:
        session = PracticeSession(trainee=get_or_create_trainee(db, "Dana"), scenario_id="s", scenario_title="S")
        session.turns.append(Turn(index=0, audio_path="audio/x/0.wav"))
        db.add(session)
        db.commit()
        sid, first_turn = session.id, session.turns[0].id
    take = store.session().__enter__()
    take.add(Turn(session_id=sid, index=1, audio_path="audio/x/1.wav"))
    take.flush()  # the take's transaction now holds the session row
    failures = []

    def comment():
        try:
            with store.session() as db:
                db.add(Comment(turn_id=first_turn, start_s=0.5, text="breathe"))
                db.commit()
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    thread = threading.Thread(target=comment)
    thread.start()
    with store.engine.connect() as watch:  # wait until the comment's transaction waits for the take's lock
        for _ in range(2000):
            waiting = watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()")).scalar()
            if waiting or not thread.is_alive():
                break
            threading.Event().wait(0.005)
    take.commit()
    take.close()
    thread.join(60)
    assert not failures
    summary = _summary(store, sid)
    assert (summary["turn_count"], summary["comment_count"]) == (2, 1)


# ---------------------------------------------------------------- one audio folder for several workstations


def test_two_workstations_share_one_audio_folder(tmp_path, database_url):
    """Two stores (two workstations: their own data directories, one database on PostgreSQL or one each on
    SQLite) write into one shared folder at the same moment: the same take is one file, named by its content,
    the other takes never clash, and each row's file is whole and readable from either store."""
    import hashlib
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from voicerehearse.sessions import add_session
    from voicerehearse.settings import load_settings

    shared = tmp_path / "shared-audio"
    a = Store.open(tmp_path / "ws-a", url=database_url, audio_dir=shared)
    b = Store.open(tmp_path / "ws-b", settings=load_settings(overrides={"audio_dir": str(shared),
                                                                        "database_url": database_url}))
    calls = tmp_path / "calls"
    calls.mkdir()
    same = calls / "same.wav"
    same.write_bytes(b"RIFF the same take" * 5000)
    own = []
    for i in range(8):
        own.append(calls / f"own-{i}.wav")
        own[-1].write_bytes(f"RIFF take {i}".encode() * 5000)
    barrier = threading.Barrier(8)

    def store_one(i):
        store = (a, b)[i % 2]
        barrier.wait(timeout=30)
        sid = add_session(store, trainee=f"T{i}", scenario_id="s", scenario_title="S", source="import",
                          turns=[{"audio": same, "record": {}}, {"audio": own[i], "record": {}}])
        with store.session() as db:
            return store, [t.audio_path for t in db.scalars(select(Turn).where(Turn.session_id == sid)
                                                             .order_by(Turn.index))]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(store_one, range(8)))
    same_paths = {paths[0] for _, paths in results}
    digest = hashlib.sha256(same.read_bytes()).hexdigest()
    assert same_paths == {f"audio/sha256/{digest[:2]}/{digest}.wav"}  # one name, whichever workstation
    assert len({paths[1] for _, paths in results}) == 8  # different takes, different files
    for i, (store, (first, second)) in enumerate(results):
        for reader in (a, b):
            assert reader.resolve_audio(first).read_bytes() == same.read_bytes()
            assert reader.resolve_audio(second).read_bytes() == own[i].read_bytes()
            assert reader.resolve_audio(second).is_relative_to(shared.resolve())
    stored = sorted(p for p in shared.rglob("*") if p.is_file())
    assert len(stored) == 9 and not any((shared / "incoming").iterdir())  # no temp file left behind
    for ws in ("ws-a", "ws-b"):  # nothing written into the workstations' own audio folders
        assert not any(p.is_file() for p in (tmp_path / ws / "audio").rglob("*"))
    for store in (a, b):
        store.engine.dispose()


@pytest.mark.parametrize("bad", ["audio/../outside.wav", "audio/../../etc/passwd", "audio//etc/passwd"])
def test_paths_never_leave_a_shared_audio_folder(tmp_path, bad):
    store = Store.open(tmp_path / "data", audio_dir=tmp_path / "shared")
    (tmp_path / "outside.wav").write_bytes(b"x")
    with pytest.raises(StoreError, match="outside the audio folder"):
        store.resolve_audio(bad)


def test_an_unusable_audio_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot use audio folder"):
        Store.open(tmp_path / "data", audio_dir=blocker / "sub")
