"""``streamwise run lake`` on the session broker: what the topics hold, the tables hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from pipelines.common.settings import StreamwiseSettings
from pipelines.common.sinks.rows import DAY
from pipelines.fraud.generator import generate
from tests.fraud.transactions import feed
from tests.kafkaio import produce, read
from tests.lake.lakes import alert
from tests.lake.running import alert_ids, rows, start_lake, wait_for_rows
from tests.processes import cli, create_topics, pipeline_env, start_pipeline, stop, wait_for


@pytest.fixture(scope="module")
def lake(
    module_settings: StreamwiseSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """One lake process for the module's tests (each uses alert ids of its own); its log."""
    create_topics(module_settings)
    log = tmp_path_factory.mktemp("lake") / "lake.log"
    process = start_lake(module_settings, log)
    yield log
    assert stop(process) == 0, log.read_text()[-2000:]


def test_a_record_the_table_cannot_hold_is_dead_lettered_and_its_neighbours_written(
    module_settings: StreamwiseSettings, lake: Path
) -> None:
    settings, card = module_settings, "dlq-card"  # one key: one partition, in this order
    produce(settings, "fraud-alerts", [
        (card, alert(100, card_id=card, hint="web")),
        (card, alert(101, card_id=card, hint=5)),  # hint is a string column by now
        (card, b"{not json"),
        (card, alert(102, card_id=card)),
    ])  # fmt: skip
    dead = read(settings, "lake-dlq", until=lambda r: len(r) >= 2, timeout_s=90)
    assert [d.header("streamwise.stage") for d in dead] == ["convert", "decode"], lake.read_text()
    unfit = dead[0]
    assert unfit.header("streamwise.error") == ("Unfit: hint: the column holds string; got 5")
    assert orjson.loads(unfit.value or b"")["alert_id"] == "a101"  # the bytes as they came
    assert unfit.key == card.encode()
    assert dead[1].value == b"{not json"

    wait_for(lambda: {"a100", "a102"} <= set(alert_ids(settings)), timeout_s=60,
             what=lambda: f"a100, a102 in the table; log: {lake.read_text()[-2000:]}")  # fmt: skip
    assert {"a101"} & set(alert_ids(settings)) == set()


def test_a_new_field_becomes_a_column_and_earlier_rows_read_null(
    module_settings: StreamwiseSettings, lake: Path
) -> None:
    settings = module_settings
    produce(settings, "fraud-alerts", [("card-9", alert(200, card_id="card-9"))])
    wait_for(lambda: "a200" in alert_ids(settings), timeout_s=60, what="a200 in the table")
    produce(settings, "fraud-alerts", [("card-9", alert(201, card_id="card-9", reviewer="ana"))])
    sql = (
        "select alert_id, reviewer from fraud_alerts where alert_id in ('a200', 'a201') order by 1"
    )
    found = wait_for(lambda: rows(settings, sql) if "a201" in alert_ids(settings) else None,
                     timeout_s=60, what="a201 in the table")  # fmt: skip
    assert found == [("a200", None), ("a201", "ana")]


def test_the_fraud_demo_stream_lands_in_the_lake_as_the_topic_holds_it(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    stream = generate(n_cards=300, days=2, seed=7)
    feed(settings, stream, 0, len(stream.transactions))
    fraud_log, lake_log = tmp_path / "fraud.log", tmp_path / "lake.log"
    fraud = start_pipeline(settings, fraud_log)
    lake = start_lake(settings, lake_log)
    try:
        alerts = read(
            settings, "fraud-alerts", timeout_s=120, idle_s=3,
            until=lambda r: {x.json()["alert_id"] for x in r} >= stream.expected,
        )  # fmt: skip
        assert alerts, fraud_log.read_text()[-2000:]
        held = wait_for_rows(settings, len(alerts), lake_log)
    finally:
        stopped = [stop(process) for process in (fraud, lake)]
    assert stopped == [0, 0], lake_log.read_text()[-2000:]
    assert held == Counter(a.json()["alert_id"] for a in alerts)

    done = cli("lake", "query", "select rule, count(*) as n from fraud_alerts group by rule",
               "--format", "json", env=pipeline_env(settings))  # fmt: skip
    assert done.returncode == 0, done.stderr
    by_rule = {row["rule"]: row["n"] for row in map(orjson.loads, done.stdout.splitlines())}
    assert by_rule == Counter(a.json()["rule"] for a in alerts)
    days = rows(settings, f"select count(*) from fraud_alerts where {DAY} <> cast(ts as date)")
    assert days == [(0,)], "each row sits in the partition of its event day"
