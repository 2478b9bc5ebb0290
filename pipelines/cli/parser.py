"""The ``streamwise`` argument parser: every verb, its flags and its help text."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from pipelines.cli.verbs import (
    cmd_acls,
    cmd_ask,
    cmd_broker,
    cmd_demo,
    cmd_lake_query,
    cmd_produce,
    cmd_run,
    cmd_token_new,
    cmd_topics,
    http_verb,
)
from pipelines.common.acls import CLIENTS, DEFAULT_DLQ_READER, DEFAULT_PRINCIPAL
from pipelines.common.topics import REGISTRY
from pipelines.devenv.broker import ENGINES
from pipelines.fields import produce_help
from pipelines.registry import PIPELINES

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and a hint), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _min_version(text: str) -> tuple[str, int]:
    doc_id, sep, version = text.rpartition("=")
    if not sep or not doc_id or not version.isdigit():
        msg = f"expected DOC_ID=VERSION, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return doc_id, int(version)


def _listen_args(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=port, help=f"listen port (default {port})")
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow a non-loopback --host without STREAMWISE_AUTH_TOKENS_FILE (anyone who "
        "reaches it may ask for any customer)",
    )


def _lake_verb(verbs: argparse._SubParsersAction[OneLineParser]) -> None:
    lake = verbs.add_parser(
        "lake",
        help="SQL over the lake's tables (what 'streamwise run lake' writes)",
        description="The lake: one Iceberg table per output topic, named as the topic with - as "
        "_ (fraud_alerts, fraud_alerts_triaged, feedback_enriched, feedback_insights, "
        "feedback_alerts, answers), under STREAMWISE_LAKE_DIR (default <data dir>/lake).",
    )
    lake_verbs = lake.add_subparsers(dest="lake_verb", required=True, metavar="ACTION")
    lake_query = lake_verbs.add_parser(
        "query",
        help="answer SQL over the lake's tables with DuckDB",
        description="Answer SQL over the lake's tables with DuckDB, offline: each table the SQL "
        "names is read from the Parquet files of its current snapshot. Columns are the "
        "topic's fields, plus _day (the partition: the UTC day of the event time), "
        "_kafka_partition and _kafka_offset.",
        epilog='example: streamwise lake query "select rule, count(*) from fraud_alerts '
        'group by rule"',
    )
    lake_query.add_argument("sql", metavar="SQL")
    lake_query.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table: aligned text (default); json: one JSON object per row",
    )
    lake_query.set_defaults(handler=cmd_lake_query)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="streamwise",
        description="Real-time AI pipelines on Kafka that run fully offline.",
        epilog="Settings come from STREAMWISE_* environment variables (see the README).",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    broker = verbs.add_parser(
        "broker",
        help="start the embedded broker and print its address",
        description="Start a single-node broker on 127.0.0.1 and print its address on the first "
        "line of stdout; runs until SIGTERM/SIGINT, then stops it cleanly.",
    )
    broker.add_argument("--port", type=int, default=0, help="listener port (0: pick a free one)")
    broker.add_argument(
        "--engine",
        choices=ENGINES,
        default="kafka",
        help="kafka: Apache Kafka (KRaft, needs Java 17+); tansu: pip-only, in memory",
    )
    broker.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep the broker's log and metadata in DIR across restarts (kafka engine): "
        "started again on DIR it has every topic, offset and transaction and its old port; "
        "without it every start is an empty broker",
    )
    broker.set_defaults(handler=cmd_broker)

    listing = "\n".join(f"  {name:<14} {entry.summary}" for name, entry in PIPELINES.items())
    run = verbs.add_parser(
        "run",
        help="run one pipeline until SIGTERM",
        description="Run one pipeline until SIGTERM. Without STREAMWISE_BROKER an embedded "
        "broker is started for it.",
        epilog=f"pipelines:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("pipeline", choices=sorted(PIPELINES), metavar="PIPELINE")
    run.set_defaults(handler=cmd_run)

    demo = verbs.add_parser(
        "demo",
        help="run every pipeline on a generated stream and show what they find",
        description="The main job on embedded defaults: start a broker if STREAMWISE_BROKER is "
        "unset, run all pipelines on a realistic generated stream, show alerts and answers "
        "as they happen, end with a summary.",
    )
    demo.add_argument("--seconds", type=float, default=60.0, help="how long to stream (default 60)")
    demo.add_argument(
        "--cdc",
        action="store_true",
        help="customer rows in a local PostgreSQL, through Debezium and run cdc, steering "
        "fraud alerts (needs Java, Maven and PostgreSQL: make cdc-demo installs them)",
    )
    demo.set_defaults(handler=cmd_demo)

    produce = verbs.add_parser(
        "produce",
        help="send JSON Lines to a topic, validated and keyed by its schema",
        description="Validate each JSON line of FILE against TOPIC's schema, key it as the "
        "contract says and send it. Invalid lines are reported with their line number. "
        "Missing topics are created first, as the registry declares them.",
        epilog=produce_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    produce.add_argument("topic", metavar="TOPIC", help=f"one of: {', '.join(REGISTRY)}")
    produce.add_argument("file", metavar="FILE", help="JSON Lines file, or - for stdin")
    produce.set_defaults(handler=cmd_produce)

    ask = verbs.add_parser(
        "ask",
        help="ask the knowledge base a question; print the answer and its citations",
        description="Publish a question on 'questions' and print the answer the rag pipeline "
        "gives on 'answers', with its citations. Needs 'streamwise run knowledge' and "
        "'streamwise run rag' running against STREAMWISE_BROKER.",
    )
    ask.add_argument("question", metavar="QUESTION")
    ask.add_argument("--customer-id", help="answer for this customer (joins their profile)")
    ask.add_argument(
        "--min-version",
        type=_min_version,
        action="append",
        default=[],
        metavar="DOC_ID=VERSION",
        help="answer only from an index that has applied at least this version (repeatable)",
    )
    ask.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default 60)")
    ask.set_defaults(handler=cmd_ask)

    serve = verbs.add_parser(
        "serve",
        help="the same as 'ask', over HTTP (POST /v1/ask)",
        description="Serve POST /v1/ask (JSON in: {text, customer_id?, min_versions?, "
        "timeout_s?}; JSON out: the answer) for web apps, by request/reply over the topics, "
        "and POST /v1/answers/{question_id}/rating ({rating: up|down, comment?}) for its answers.",
    )
    _listen_args(serve, 8080)
    serve.set_defaults(handler=http_verb("pipelines.knowledge.serve"))

    dashboard = verbs.add_parser(
        "dashboard",
        help="the operations console: fraud, feedback and knowledge pages, live",
        description="Serve the operations console, pages that refresh themselves. Fraud: the "
        "triaged alerts with verdict buttons (published to fraud-verdicts) and each rule's "
        "precision from fraud-quality. Feedback: sentiment and rating over time, categories, "
        "key phrases, sources, alerts, semantic search, label corrections (published to "
        "feedback-labels) and the classifier in use. Knowledge: answer KPIs, low-rated "
        "documents and index versions. It reads the topics it shows and Chroma.",
    )
    _listen_args(dashboard, 8050)
    dashboard.set_defaults(handler=http_verb("pipelines.console.server"))

    topics = verbs.add_parser(
        "topics",
        help="list the topics streamwise uses and their state",
        description="List every topic of the contract with partitions, message count, cleanup "
        "policy and retention, as the broker holds them, and every mismatch with the registry.",
    )
    topics.add_argument("--create", action="store_true", help="create missing topics first")
    topics.add_argument(
        "--check",
        action="store_true",
        help="report every mismatch with the registry (partitions, cleanup policy, "
        "co-partitioning of joined topics) and its fix; exit 1 if any",
    )
    topics.set_defaults(handler=cmd_topics)

    acls = verbs.add_parser(
        "acls",
        help="print the Kafka ACLs each pipeline needs, as kafka-acls commands",
        description="Print, per pipeline (and for serve and the dashboard), the kafka-acls "
        "commands that grant exactly what it needs: the topics it reads and writes, its "
        "consumer group, its internal changelog and repartition topics, its transactional ids "
        "under exactly-once, and who may read its dead letters. Topic names follow "
        "STREAMWISE_TOPIC_PREFIX; set KAFKA_BOOTSTRAP and KAFKA_ADMIN_CONFIG (an admin's "
        "client properties) before running them.",
    )
    acls.add_argument(
        "--pipeline", choices=CLIENTS, metavar="P", help=f"only this one ({', '.join(CLIENTS)})"
    )
    acls.add_argument(
        "--principal",
        default=DEFAULT_PRINCIPAL,
        help="the principal of each client; {client} is its name (default: %(default)s)",
    )
    acls.add_argument(
        "--dlq-reader",
        default=DEFAULT_DLQ_READER,
        help="the one principal that may read dead letters (default: %(default)s)",
    )
    acls.set_defaults(handler=cmd_acls)

    _lake_verb(verbs)

    token = verbs.add_parser(
        "token",
        help="make bearer tokens for serve and the dashboard",
        description="Bearer tokens live in STREAMWISE_AUTH_TOKENS_FILE as NAME SCOPE SHA256 "
        "lines: the file keeps each token's hash, never the token.",
    )
    token_verbs = token.add_subparsers(dest="token_verb", required=True, metavar="ACTION")
    new = token_verbs.add_parser(
        "new",
        help="print a fresh token once and append its line to the tokens file",
        description="Print a fresh random bearer token once (it is not stored: keep it) and "
        "append NAME SCOPE SHA256 to STREAMWISE_AUTH_TOKENS_FILE.",
    )
    new.add_argument("name", metavar="NAME", help="who holds it, for the audit log")
    new.add_argument(
        "scope", metavar="SCOPE", help="'staff' (any customer) or 'customer:<customer_id>'"
    )
    new.set_defaults(handler=cmd_token_new)
    return parser
