"""Storage layer: connection settings, stage CRUD, loss rows, artifacts and migrations."""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from engine.errors import MtcError
from engine.store import (
    DatabaseUnreachable,
    DuplicateStageError,
    NoDatabaseError,
    SchemaOutdatedError,
    SchemaTooNewError,
    StageHasChildrenError,
    Storage,
    StoreError,
    UnknownStageError,
    database_url,
    head_revision,
    init_database,
    make_engine,
    open_storage,
    open_url,
    upgrade,
    validate_stage_name,
)
from engine.store.models import Base

from processes import free_port


@pytest.fixture
def url(tmp_path: Path, backend: str) -> str:
    """A fresh database on each backend (see conftest's ``backend``)."""
    url = database_url(tmp_path)
    init_database(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'mtc.db'}"
    init_database(url)
    return url


@pytest.fixture
def store(url: str):
    with open_url(url) as storage:
        yield storage


def names(records) -> list[str]:
    return [record.name for record in records]


# -- connections ----------------------------------------------------------------


def test_sqlite_pragmas_are_set_on_every_connection(sqlite_url: str):
    with open_url(sqlite_url) as store, store.engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 15000
        assert pragma("synchronous") == 1  # NORMAL


def test_write_transactions_take_the_write_lock_up_front(sqlite_url: str):
    store = open_url(sqlite_url)
    store.create_stage("a", {})
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    with store.transaction():
        store.get_stage("a")  # only a read, yet the lock is already held (BEGIN IMMEDIATE)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    store.dispose()


def test_database_url_defaults_to_project_file_and_honours_env(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MTC_DB_URL", raising=False)
    assert database_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/.mtc/mtc.db"
    monkeypatch.setenv("MTC_DB_URL", "postgresql://u:p@host/db")
    assert database_url(tmp_path) == "postgresql://u:p@host/db"


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://me:secret@db.example/mtc", "mysql://me:\\*\\*\\*@db.example/mtc names the database 'mysql', which mtc does not support"),
        ("postgresql+psycopg2://me:secret@db.example/mtc", "needs the Python module psycopg2, which is not installed"),
        ("postgresql+nosuch://me:secret@db.example/mtc", "names the driver 'postgresql\\+nosuch', which SQLAlchemy does not know"),
        ("not a url", "is not a database URL: use sqlite:///PATH or postgresql://"),
    ],
)
def test_unusable_database_urls_are_one_clear_line(url: str, message: str):
    with pytest.raises(StoreError, match=message) as refused:
        open_url(url)
    assert "secret" not in str(refused.value) and "\n" not in str(refused.value)


def test_unreachable_servers_name_the_url_with_the_password_masked(postgres, pg_database: str):
    good = pg_database
    init_database(good)
    wrong_password = good.replace(":mtc-test-secret@", ":not-it@")
    with pytest.raises(DatabaseUnreachable, match="cannot connect to the database .*mtc:\\*\\*\\*@127.0.0.1.*password authentication failed"):
        open_url(wrong_password)
    postgres.drop_database(good)
    with pytest.raises(DatabaseUnreachable, match="does not exist"):
        open_url(good)
    down = f"postgresql://mtc:mtc-test-secret@127.0.0.1:{free_port()}/mtc"
    with pytest.raises(DatabaseUnreachable, match="cannot connect to the database postgresql.*mtc:\\*\\*\\*@.*refused"):
        open_url(down)


def test_open_storage_without_database_creates_nothing(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MTC_DB_URL", raising=False)
    with pytest.raises(NoDatabaseError, match="no mtc database in .*run `mtc init-conf`"):
        open_storage(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_open_storage_finds_initialised_project(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MTC_DB_URL", raising=False)
    init_database(database_url(tmp_path))
    assert (tmp_path / ".mtc" / "mtc.db").is_file()
    with open_storage(tmp_path) as storage:
        assert storage.list_stages() == []


# -- stages ---------------------------------------------------------------------


def test_create_and_get_stage(store: Storage):
    created = store.create_stage("root", {"lr": 1e-3}, description="first", problem_hash="abc")
    got = store.get_stage("root")
    assert got == created
    assert (got.status, got.kind, got.attempt, got.parent, got.config) == (
        "draft", "standard", 0, None, {"lr": 1e-3}
    )
    assert got.created_at.tzinfo == timezone.utc
    assert abs(datetime.now(timezone.utc) - got.created_at) < timedelta(minutes=1)
    child = store.create_stage("child", {}, parent="root", kind="correction")
    assert (child.parent, child.parent_id, child.kind) == ("root", created.id, "correction")


def test_stage_errors_are_user_facing(store: Storage):
    store.create_stage("a", {})
    with pytest.raises(DuplicateStageError, match="'a' already exists"):
        store.create_stage("a", {})
    with pytest.raises(UnknownStageError, match="no stage named 'b'"):
        store.create_stage("x", {}, parent="b")
    store.create_stage("stage1", {})
    with pytest.raises(UnknownStageError, match="did you mean 'stage1'"):
        store.get_stage("stage2")
    for bad in ("", "has space", "x" * 65, "semi;colon"):
        with pytest.raises(StoreError, match="invalid stage name"):
            store.create_stage(bad, {})
    assert issubclass(StoreError, MtcError)
    assert names(store.list_stages()) == ["a", "stage1"]


def test_validate_stage_name():
    assert validate_stage_name("Run_2-b") == "Run_2-b"
    assert validate_stage_name("x" * 64) == "x" * 64
    with pytest.raises(MtcError):
        validate_stage_name("a/b")


def test_tree_queries(store: Storage):
    store.create_stage("root", {})
    store.create_stage("a", {}, parent="root")
    store.create_stage("b", {}, parent="root")
    store.create_stage("a1", {}, parent="a")
    store.create_stage("other", {})
    assert names(store.list_stages()) == ["root", "a", "b", "a1", "other"]
    assert names(store.children("root")) == ["a", "b"]
    assert names(store.descendants("root")) == ["a", "a1", "b"]
    assert names(store.lineage("a1")) == ["root", "a", "a1"]
    assert names(store.lineage("other")) == ["other"]
    assert store.children("other") == []


def test_updates_and_status(store: Storage):
    store.create_stage("s", {"a": 1})
    assert store.update_config("s", {"a": 2, "nested": {"b": [1, 2]}}).config == {
        "a": 2, "nested": {"b": [1, 2]}
    }
    assert store.update_description("s", "new").description == "new"
    started = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    record = store.set_status("s", "running", attempt=1, started_at=started, worker_pid=42)
    assert (record.status, record.attempt, record.worker_pid) == ("running", 1, 42)
    assert record.started_at == started and record.started_at.tzinfo == timezone.utc
    assert store.get_stage("s").started_at.hour == 12
    with pytest.raises(StoreError, match="invalid stage status 'bogus'"):
        store.set_status("s", "bogus")
    with pytest.raises(TypeError, match="cannot set: config, parent_id"):
        store.set_status("s", "done", parent_id=3, config={})
    with pytest.raises(ValueError, match="timezone-aware"):
        store.set_status("s", "done", finished_at=datetime(2024, 1, 1))
    assert store.get_stage("s").status == "running"


def test_rename_keeps_children_attached(store: Storage):
    store.create_stage("old", {})
    store.create_stage("kid", {}, parent="old")
    store.create_stage("taken", {})
    assert store.rename_stage("old", "new").name == "new"
    assert store.get_stage("kid").parent == "new"
    with pytest.raises(DuplicateStageError):
        store.rename_stage("new", "taken")
    with pytest.raises(UnknownStageError):
        store.rename_stage("old", "x")
    with pytest.raises(StoreError, match="invalid stage name"):
        store.rename_stage("new", "bad name")


def test_delete_refuses_children_unless_recursive(store: Storage):
    store.create_stage("root", {})
    store.create_stage("a", {}, parent="root")
    store.create_stage("a1", {}, parent="a")
    store.create_stage("b", {}, parent="root")
    store.create_stage("keep", {})
    store.add_loss_rows("a1", 0, [(1, 0.0, "total", 1.0)])
    store.add_artifact("a1", "checkpoint", "ckpt/a1.pt")
    with pytest.raises(StageHasChildrenError, match="'root' has descendants \\(a, a1, b\\)"):
        store.delete_stage("root")
    assert store.delete_stage("b") == ["b"]
    assert store.delete_stage("root", recursive=True) == ["a1", "a", "root"]
    assert names(store.list_stages()) == ["keep"]
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM loss")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM artifact")).scalar() == 0


def test_foreign_key_restricts_deleting_a_parent(store: Storage):
    store.create_stage("p", {})
    store.create_stage("c", {}, parent="p")
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(text("DELETE FROM stage WHERE name = 'p'"))
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(text("UPDATE stage SET parent_id = 999 WHERE name = 'c'"))


def test_next_free_name_uses_max_not_count(store: Storage):
    assert store.next_free_name() == "stage1"
    for name in ("stage1", "stage3", "stagex", "stage7b", "stage_9", "pre2"):
        store.create_stage(name, {})
    assert store.next_free_name() == "stage4"
    assert store.next_free_name("pre") == "pre3"
    assert store.next_free_name("new") == "new1"


def test_transaction_is_atomic(store: Storage):
    with pytest.raises(DuplicateStageError), store.transaction():
        store.create_stage("one", {})
        store.create_stage("two", {}, parent="one")
        store.create_stage("one", {})
    assert store.list_stages() == []
    with store.transaction() as tx:
        tx.create_stage(tx.next_free_name(), {})
        with tx.transaction():
            tx.create_stage(tx.next_free_name(), {})
    assert names(store.list_stages()) == ["stage1", "stage2"]


# -- loss rows --------------------------------------------------------------------


def test_loss_rows_batch_duplicates_and_non_finite(store: Storage):
    store.create_stage("s", {})
    rows = [
        (0, 0.5, "total", 2.0),
        (0, 0.5, "pde", math.nan),
        (1, 1.0, "total", math.inf),
        (1, 1.0, "pde", -math.inf),
        (1, 1.0, "lr", 1e-3),
    ]
    store.add_loss_rows("s", 0, rows)
    store.add_loss_rows("s", 0, rows[:2] + [(2, 1.5, "total", 0.5)])  # two duplicates ignored
    store.add_loss_rows("s", 1, [(0, 0.1, "total", 3.0)])  # same step, new attempt
    store.add_loss_rows("s", 0, [])
    got = store.loss_rows("s")
    assert [(r["attempt"], r["step"], r["key"]) for r in got] == [
        (0, 0, "total"), (0, 0, "pde"), (0, 1, "total"), (0, 1, "pde"), (0, 1, "lr"),
        (0, 2, "total"), (1, 0, "total"),
    ]
    values = [r["value"] for r in got]
    assert math.isnan(values[1]) and values[2] == math.inf and values[3] == -math.inf
    assert got[0] == {
        "id": got[0]["id"], "stage": "s", "attempt": 0, "step": 0, "wall_time": 0.5,
        "key": "total", "value": 2.0,
    }
    with store.engine.connect() as connection:
        stored = connection.execute(text("SELECT key, value, kind FROM loss WHERE step = 1")).all()
    assert sorted(stored) == [("lr", 1e-3, "finite"), ("pde", None, "-inf"), ("total", None, "inf")]


def test_loss_rows_incremental_and_key_filter(store: Storage):
    store.create_stage("s", {})
    store.create_stage("t", {})
    store.add_loss_rows("s", 0, [(step, step / 10, "total", 1 / (step + 1)) for step in range(3)])
    store.add_loss_rows("t", 0, [(0, 0.0, "total", 9.0)])
    first = store.loss_rows("s")
    assert store.loss_rows("s", after_id=first[-1]["id"]) == []
    store.add_loss_rows("s", 0, [(3, 0.3, "total", 0.25), (3, 0.3, "lr", 0.1)])
    newer = store.loss_rows("s", after_id=first[-1]["id"])
    assert [(r["step"], r["key"]) for r in newer] == [(3, "total"), (3, "lr")]
    assert [r["step"] for r in store.loss_rows("s", keys=["lr"])] == [3]
    with pytest.raises(UnknownStageError):
        store.add_loss_rows("nope", 0, [(0, 0.0, "total", 1.0)])


def test_delete_results_resets_the_stage(store: Storage):
    store.create_stage("s", {})
    store.set_status(
        "s", "failed", attempt=2, started_at=datetime.now(timezone.utc), error="boom", last_step=9
    )
    store.add_loss_rows("s", 2, [(9, 1.0, "total", 1.0)])
    store.add_artifact("s", "log", "logs/s.txt")
    removed = store.delete_results("s")
    assert [a.path for a in removed] == ["logs/s.txt"]
    record = store.get_stage("s")
    assert (record.status, record.attempt, record.started_at, record.error, record.last_step) == (
        "draft", 0, None, None, None
    )
    assert store.loss_rows("s") == [] and store.artifacts("s") == []


def test_artifacts(store: Storage):
    store.create_stage("s", {})
    ckpt = store.add_artifact("s", "checkpoint", Path("ckpt") / "s_100.pt", step=100, meta={"n": 1})
    store.add_artifact("s", "plot", "plots/loss.png")
    assert (ckpt.stage, ckpt.path, ckpt.step, ckpt.meta) == ("s", "ckpt/s_100.pt", 100, {"n": 1})
    assert [a.kind for a in store.artifacts("s")] == ["checkpoint", "plot"]
    assert store.artifacts("s", kind="plot")[0].path == "plots/loss.png"
    with pytest.raises(StoreError, match="relative to the project"):
        store.add_artifact("s", "log", "/abs/log.txt")


# -- migrations -------------------------------------------------------------------


def test_fresh_database_is_at_head_and_matches_models(store: Storage):
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == head_revision()
        assert compare_metadata(context, Base.metadata) == []


def _empty_database(tmp_path: Path) -> str:
    (tmp_path / ".mtc").mkdir()
    return database_url(tmp_path)


def test_old_schema_is_refused_until_upgraded(tmp_path: Path, backend: str):
    url = _empty_database(tmp_path)
    upgrade(url, "0001")
    engine = make_engine(url)
    with engine.begin() as connection:  # rows as a 0001-era mtc wrote them (no stage.correction column)
        connection.execute(text(
            "INSERT INTO stage (name, description, kind, status, config, attempt, created_at, cancel_requested, "
            "step_offset) VALUES ('s', '', 'standard', 'done', '{}', 1, '2024-01-01 00:00:00.000000', false, 0)"
        ))  # fmt: skip
        connection.execute(text(
            "INSERT INTO loss (stage_id, attempt, step, wall_time, key, value, kind) "
            "VALUES (1, 0, 0, 0.0, 'total', 1.0, 'finite')"
        ))  # fmt: skip
    engine.dispose()
    with pytest.raises(SchemaOutdatedError, match="revision 0001 .*run `mtc db upgrade`"):
        open_url(url)
    upgrade(url)
    with open_url(url) as storage:
        assert len(storage.loss_rows("s")) == 1
        assert storage.get_stage("s").correction is None
        assert storage.create_stage("t", {}, parent="s").parent == "s"


def test_unmigrated_and_newer_databases_are_refused(tmp_path: Path, backend: str):
    url = _empty_database(tmp_path)
    with pytest.raises(SchemaOutdatedError, match="no mtc schema: run `mtc db upgrade`"):
        open_url(url)
    init_database(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaTooNewError, match="9999, newer than this mtc"):
        open_url(url)


def test_storage_refuses_use_in_another_process(store: Storage, monkeypatch):
    monkeypatch.setattr(store, "_pid", -1)
    with pytest.raises(StoreError, match="another process"):
        store.list_stages()
