import pytest
from sqlalchemy import select, text

from voicerehearse.store import BaselineRecord, Comment, PracticeSession, Store, StoreError, Turn, get_or_create_trainee
from voicerehearse.types import Baseline


@pytest.fixture
def store(tmp_path):
    return Store.open(tmp_path / "data")


def test_sqlite_in_wal_mode_with_foreign_keys(store):
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


def test_baseline_round_trip(store):
    b = Baseline(-27.0, 180.0, 1.9, -12.0, 4.1, "calm.wav")
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


def test_data_is_private_to_its_owner(store):
    import stat

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
