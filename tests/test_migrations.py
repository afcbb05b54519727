"""Schema migrations (Alembic): a store made by the releases before migrations is upgraded to head without losing
a row, on SQLite and PostgreSQL; the models and the migrated schema agree; ``voicerehearse db current / upgrade``."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from voicerehearse import migrations
from voicerehearse.store import (SUMMARY_COLUMNS, BaselineRecord, Comment, PracticeSession, Store, Trainee, Turn,
                                 User)

# The schema as `Base.metadata.create_all` of the last release before migrations made it (commit 2f6a52f: with
# the session summaries), and of the release before the summaries (c159c7f). {pk} and {ts} are per backend.
RELEASE_TABLES = """
CREATE TABLE trainees (id {pk}, name VARCHAR(120) NOT NULL, created_at {ts} NOT NULL, PRIMARY KEY (id),
    UNIQUE (name));
CREATE TABLE baselines (id {pk}, trainee_id INTEGER NOT NULL, audio_path VARCHAR(500) NOT NULL, measures JSON NOT NULL,
    created_at {ts} NOT NULL, PRIMARY KEY (id), FOREIGN KEY(trainee_id) REFERENCES trainees (id));
CREATE TABLE users (id {pk}, username VARCHAR(120) NOT NULL, password_hash VARCHAR(300) NOT NULL,
    role VARCHAR(20) NOT NULL, trainee_id INTEGER, created_at {ts} NOT NULL, session_version INTEGER DEFAULT 0 NOT NULL,
    PRIMARY KEY (id), UNIQUE (username), FOREIGN KEY(trainee_id) REFERENCES trainees (id));
CREATE TABLE sessions (id {pk}, trainee_id INTEGER NOT NULL, scenario_id VARCHAR(120) NOT NULL,
    scenario_title VARCHAR(300) NOT NULL, source VARCHAR(20) NOT NULL, status VARCHAR(20) NOT NULL,
    started_at {ts} NOT NULL, ended_at {ts}, baseline_id INTEGER, note TEXT,{summary}
    PRIMARY KEY (id), FOREIGN KEY(trainee_id) REFERENCES trainees (id), FOREIGN KEY(baseline_id) REFERENCES baselines (id));
CREATE TABLE turns (id {pk}, session_id INTEGER NOT NULL, "index" INTEGER NOT NULL, customer_text TEXT,
    audio_path VARCHAR(500) NOT NULL, prompt_start_s FLOAT, duration_s FLOAT, analysis JSON, label VARCHAR(20),
    words_per_minute FLOAT, loudness_delta_db FLOAT, pitch_delta_st FLOAT, response_latency_s FLOAT, interrupted BOOLEAN,
    created_at {ts} NOT NULL, PRIMARY KEY (id), FOREIGN KEY(session_id) REFERENCES sessions (id));
CREATE TABLE comments (id {pk}, turn_id INTEGER NOT NULL, author_id INTEGER, start_s FLOAT NOT NULL, end_s FLOAT,
    text TEXT NOT NULL, created_at {ts} NOT NULL, updated_at {ts} NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(turn_id) REFERENCES turns (id), FOREIGN KEY(author_id) REFERENCES users (id));
"""
SUMMARY_DDL = """ turn_count INTEGER, aggressive_count INTEGER, passive_count INTEGER,
    assertive_count INTEGER, verdict VARCHAR(20), duration_s FLOAT, mean_wpm FLOAT, mean_loudness_delta_db FLOAT,
    mean_pitch_delta_st FLOAT, mean_latency_s FLOAT, interruption_count INTEGER, comment_count INTEGER,
    summary_version INTEGER,"""
SUMMARY_INDEX = "CREATE INDEX ix_sessions_trainee_started ON sessions (trainee_id, started_at);"
TYPES = {"sqlite": {"pk": "INTEGER NOT NULL", "ts": "DATETIME"},
         "postgresql": {"pk": "SERIAL NOT NULL", "ts": "TIMESTAMP WITH TIME ZONE"}}

ANALYSIS = {"schema": "voicerehearse.analysis/1", "duration_s": 4.2, "delivery": {"label": "aggressive"},
            "pace": {"words_per_minute": 171.0}, "words": [{"w": "calm", "start": 0.1}],
            "transcript": {"text": "i understand but that is final", "rough": False},
            "cues": [{"category": "empathy", "style": "assertive", "phrase": "i understand"},
                     {"category": "ultimatum", "style": "aggressive", "phrase": "that is final"},
                     {"category": "dismissive", "style": "aggressive", "phrase": "calm down"}]}
# what the release wrote through its models, here as plain SQL: two trainees, a baseline, two logins, two sessions
# with three turns and two comments
RELEASE_ROWS = [
    "INSERT INTO trainees (name, created_at) VALUES ('Dana', '2026-01-05 09:00:00'), ('Sam', '2026-01-05 09:01:00')",
    "INSERT INTO baselines (trainee_id, audio_path, measures, created_at) VALUES (1, 'audio/1-dana/baselines/b.wav', "
    "'{\"loudness_db\": -27.0, \"pitch_median_hz\": 180.0, \"pitch_sd_st\": 1.9, \"alpha_ratio_db\": -12.0, "
    "\"articulation_rate\": 4.1}', '2026-01-05 09:02:00')",
    "INSERT INTO users (username, password_hash, role, trainee_id, created_at, session_version) VALUES "
    "('coach', 'scrypt:x', 'coach', NULL, '2026-01-05 08:00:00', 3), ('dana', 'scrypt:y', 'trainee', 1, "
    "'2026-01-05 08:00:00', 0)",
    "INSERT INTO sessions (trainee_id, scenario_id, scenario_title, source, status, started_at, ended_at, baseline_id, "
    "note) VALUES (1, 'late_fee', 'Late-fee waiver', 'practice', 'complete', '2026-01-05 10:00:00', "
    "'2026-01-05 10:05:00', 1, 'first try'), (2, 'import', 'Call 7', 'import', 'complete', '2026-01-06 11:00:00', "
    "NULL, NULL, NULL)",
    "INSERT INTO turns (session_id, \"index\", customer_text, audio_path, duration_s, analysis, label, "
    "words_per_minute, interrupted, created_at) VALUES "
    "(1, 0, 'You charged me twenty dollars!', 'audio/1/turn-0.wav', 4.2, :analysis, 'aggressive', 171.0, TRUE, "
    "'2026-01-05 10:01:00'), (1, 1, 'Fine.', 'audio/1/turn-1.wav', 2.0, NULL, 'assertive', 130.0, FALSE, "
    "'2026-01-05 10:02:00'), (2, 0, NULL, 'audio/2/turn-0.wav', 30.5, NULL, 'passive', NULL, NULL, "
    "'2026-01-06 11:00:00')",
    "INSERT INTO comments (turn_id, author_id, start_s, end_s, text, created_at, updated_at) VALUES "
    "(1, 1, 1.5, 2.0, 'Let them finish', '2026-01-05 12:00:00', '2026-01-05 12:00:00'), "
    "(3, 1, 10.0, NULL, 'Good pause', '2026-01-05 12:00:00', '2026-01-05 12:00:00')",
]
COUNTS = {Trainee: 2, BaselineRecord: 1, User: 2, PracticeSession: 2, Turn: 3, Comment: 2}


@pytest.fixture
def empty_database(tmp_path, database_url, request):
    """(data_dir, url) of an empty database: a SQLite file in the data directory, or a new PostgreSQL database."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if not database_url:
        yield data_dir, f"sqlite:///{data_dir / 'voicerehearse.db'}"
        return
    fresh_database = request.getfixturevalue("postgres")
    url = fresh_database()
    yield data_dir, url
    fresh_database.drop(url)


def make_release_store(url: str, with_summaries: bool = True) -> None:
    """The store as a release before migrations left it: its tables (create_all) and a few rows."""
    import json

    engine = create_engine(url)
    ddl = RELEASE_TABLES.format(summary=SUMMARY_DDL if with_summaries else "", **TYPES[engine.dialect.name])
    if with_summaries:
        ddl += SUMMARY_INDEX
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.execute(text(statement))
        for statement in RELEASE_ROWS:
            conn.execute(text(statement), {"analysis": json.dumps(ANALYSIS)} if ":analysis" in statement else {})
    engine.dispose()


def check_every_row_kept(store: Store) -> None:
    with store.session() as db:
        assert {model: db.scalar(select(func.count()).select_from(model)) for model in COUNTS} == COUNTS
        assert [t.name for t in db.scalars(select(Trainee).order_by(Trainee.id))] == ["Dana", "Sam"]
        dana = db.scalar(select(Trainee).where(Trainee.name == "Dana"))
        assert dana.baselines[0].to_baseline().pitch_median_hz == 180.0
        first = db.get(PracticeSession, 1)
        assert (first.note, first.baseline_id, first.trainee.name, len(first.turns)) == ("first try", 1, "Dana", 2)
        turn = first.turns[0]
        assert turn.analysis == ANALYSIS and turn.interrupted is True and turn.words_per_minute == 171.0
        assert [c.text for c in turn.comments] == ["Let them finish"]
        assert db.scalar(select(User).where(User.username == "coach")).session_version == 3
        # the summaries of the sessions stored before them are filled in on open
        assert (first.turn_count, first.verdict, first.comment_count, first.duration_s) == (2, "aggressive", 1, 6.2)
        assert all(getattr(db.get(PracticeSession, 2), name) is not None for name in ("turn_count", "verdict"))
        # language cues counted from the stored analysis JSON (0005), and summed per session
        assert (turn.helpful_phrases, turn.problem_phrases) == (1, 2)
        assert (first.helpful_phrase_count, first.problem_phrase_count) == (1, 2)
        # and the store keeps working: new rows get new ids (PostgreSQL's sequences were not disturbed)
        db.add(PracticeSession(trainee=dana, scenario_id="s", scenario_title="S"))
        db.commit()
        assert db.scalar(select(func.max(PracticeSession.id))) == 3


def alembic_version(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return migrations.current(conn)


@pytest.mark.parametrize("with_summaries", [True, False], ids=["release-2f6a52f", "release-c159c7f"])
def test_a_store_made_by_a_release_before_migrations_is_upgraded_without_losing_a_row(empty_database,
                                                                                      with_summaries):
    data_dir, url = empty_database
    make_release_store(url, with_summaries)
    store = Store.open(data_dir, url=url)
    try:
        assert alembic_version(store) == migrations.head()
        check_every_row_kept(store)
    finally:
        store.engine.dispose()
    again = Store.open(data_dir, url=url)  # opening again changes nothing
    try:
        with again.session() as db:
            assert db.scalar(select(func.count()).select_from(Turn)) == 3
        assert alembic_version(again) == migrations.head()
    finally:
        again.engine.dispose()


def test_the_models_and_the_migrated_schema_agree(tmp_path, database_url):
    """A model change without its revision file (or the reverse) fails here, naming the difference."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from voicerehearse.store import Base

    store = Store.open(tmp_path / "data", url=database_url)
    try:
        with store.engine.connect() as conn:
            assert migrations.current(conn) == migrations.head()
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        store.engine.dispose()


def test_revisions_form_one_chain_from_the_baseline():
    assert migrations.revisions()[0] == "0001" and migrations.revisions()[-1] == migrations.head()
    assert len(set(migrations.revisions())) == len(migrations.revisions())
    assert set(SUMMARY_COLUMNS) <= {c.name for c in PracticeSession.__table__.columns}


def test_a_column_that_cannot_be_added_is_a_clear_error(tmp_path):
    """A revision may only add columns the existing rows can take (nullable, or with a server default)."""
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from voicerehearse.store import StoreError

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        with Operations.context(MigrationContext.configure(conn)):
            migrations.add_missing_columns("t", sa.Column("ok", sa.Integer, nullable=True))
            with pytest.raises(StoreError, match="t.bad .* cannot be added"):
                migrations.add_missing_columns("t", sa.Column("bad", sa.Integer, nullable=False))
        assert [row[1] for row in conn.execute(text("PRAGMA table_info(t)"))] == ["id", "ok"]


def test_db_current_and_upgrade_commands(empty_database):
    from voicerehearse.cli import main

    data_dir, url = empty_database
    make_release_store(url, with_summaries=False)
    args = ["--data-dir", str(data_dir), "--set", f"database_url={url}"]
    runner = CliRunner()
    result = runner.invoke(main, ["db", "current", *args])
    assert result.exit_code == 0 and "not migrated yet" in result.output and migrations.head() in result.output
    result = runner.invoke(main, ["db", "upgrade", *args])
    assert result.exit_code == 0, result.output
    assert f"upgraded from no revision to {migrations.head()}" in result.output
    result = runner.invoke(main, ["db", "current", *args])
    assert result.exit_code == 0 and f"at {migrations.head()} (head)" in result.output
    assert "already at" in runner.invoke(main, ["db", "upgrade", *args]).output
    store = Store.open(data_dir, url=url)
    try:
        check_every_row_kept(store)
    finally:
        store.engine.dispose()


def test_db_commands_on_a_missing_database(tmp_path):
    from voicerehearse.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["db", "current", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 0 and "no database yet" in result.output
    assert not (tmp_path / "none").exists()  # looking creates nothing
    result = runner.invoke(main, ["db", "upgrade", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 0 and "created at" in result.output
    result = runner.invoke(main, ["db", "current", "--set", "database_url=postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1 and result.output.startswith("Error: cannot open database")
