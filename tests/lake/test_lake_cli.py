"""``streamwise lake query`` and ``run lake`` as users type them: rows as a table or JSON lines,
one-line errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.lake.lakes import Lake
from tests.processes import cli


@pytest.fixture(scope="module")
def lake_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    lake = Lake(tmp_path_factory.mktemp("data") / "lake")
    lake.add_alerts(range(3))
    lake.add_alerts(range(3, 4), region="EU")
    lake.sink.flush()
    return {"STREAMWISE_LAKE_DIR": str(lake.folder)}


def test_json_is_one_object_per_row(lake_env: dict[str, str]) -> None:
    done = cli("lake", "query", "select alert_id, ts, region, reasons from fraud_alerts "
               "order by alert_id", "--format", "json", env=lake_env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert rows[0] == {"alert_id": "a0", "ts": "2026-11-20T10:00:00Z", "region": None,
                       "reasons": ["6 transactions in 60 s"]}  # fmt: skip
    assert [row["region"] for row in rows] == [None, None, None, "EU"]


def test_a_table_is_aligned_text_with_a_count(lake_env: dict[str, str]) -> None:
    done = cli("lake", "query", "select rule, count(*) as n from fraud_alerts group by rule",
               env=lake_env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["rule      n", "--------  -", "velocity  4", "(1 row)"]


def test_an_empty_table_answers_and_says_so(lake_env: dict[str, str]) -> None:
    done = cli("lake", "query", "select count(*) as n from answers", env=lake_env)
    assert done.returncode == 0, done.stderr
    assert "0" in done.stdout.splitlines()[2]
    assert "answers holds no rows yet" in done.stderr


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("selec 1", "Parser Error"),
        ("select * from fraud_alert", "fraud_alert does not exist"),
        ("select nope from fraud_alerts", "nope"),
    ],
)
def test_bad_sql_is_one_line_and_exit_2(lake_env: dict[str, str], sql: str, reason: str) -> None:
    done = cli("lake", "query", sql, env=lake_env)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("streamwise lake: error: "), line
    assert reason in line, line
    assert "Traceback" not in done.stderr


def test_an_unknown_table_names_the_lake_s_tables(lake_env: dict[str, str]) -> None:
    done = cli("lake", "query", "select * from fraud_alert", env=lake_env)
    assert "lake tables: answers, feedback_alerts, feedback_enriched" in done.stderr


def test_a_missing_lake_says_where_it_looked(tmp_path: Path) -> None:
    done = cli("lake", "query", "select 1", env={"STREAMWISE_LAKE_DIR": str(tmp_path / "none")})
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"streamwise lake: error: no lake at {tmp_path / 'none'}: 'streamwise run lake' writes "
        "it there (STREAMWISE_LAKE_DIR, default <STREAMWISE_DATA_DIR>/lake)"
    )


def test_a_bad_lake_setting_is_one_line_naming_the_variable_before_any_broker() -> None:
    done = cli("run", "lake", env={"STREAMWISE_BROKER": "127.0.0.1:9",
                                   "STREAMWISE_LAKE_COMMIT_INTERVAL_S": "0"})  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "streamwise run: error: bad setting STREAMWISE_LAKE_COMMIT_INTERVAL_S: "
        "Input should be greater than 0"
    ]
