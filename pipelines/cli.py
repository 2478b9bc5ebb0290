"""The ``streamwise`` command line: one console script, the verbs of the contract.

Every verb takes its settings from flags or the environment, and turns expected
failures (no broker, bad input, missing Java) into a one-line reason on stderr
and a non-zero exit: tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from quixstreams.models.topics.exceptions import (
    TopicConfigurationMismatch,
    TopicNotFoundError,
    TopicPartitionsMismatch,
    TopicPermissionError,
)

from pipelines.common import logs
from pipelines.common.admin import BrokerUnreachable, TopicsUnusable, topic_states
from pipelines.common.clients import (
    BrokerNotConfigured,
    client_config,
    create_registry_topics,
    producer_config,
)
from pipelines.common.settings import SettingsError, StreamwiseSettings, load_settings
from pipelines.common.topic_checks import registry_mismatches
from pipelines.common.topics import REGISTRY, all_topics, joined_topics, spec
from pipelines.devenv.broker import ENGINES, BrokerError, embedded_broker
from pipelines.fields import produce_help
from pipelines.produce import produce_lines
from pipelines.registry import PIPELINES, check_settings, runner

EXIT_USAGE = 2
EXIT_FAILURE = 1

# Failures a user can act on: reported in one line, never as a traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    BrokerError,
    BrokerUnreachable,
    BrokerNotConfigured,
    TopicsUnusable,
    ConnectionError,
    TimeoutError,
    FileNotFoundError,
    KeyError,
    ValueError,
)

# Quix's own topic errors (an internal changelog or repartition topic it could not find,
# create or size): one line, with where to look, never a traceback.
QUIX_TOPIC_ERRORS: tuple[type[BaseException], ...] = (
    TopicNotFoundError,
    TopicConfigurationMismatch,
    TopicPartitionsMismatch,
    TopicPermissionError,
)
QUIX_TOPIC_HINT = (
    "streamwise creates its topics and Quix its internal ones at start; "
    "'streamwise topics --check' names what is wrong with the contract topics"
)


class InputUnreadable(ValueError):
    """A file given on the command line cannot be read (missing, a folder, no permission)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and a hint), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _settings() -> StreamwiseSettings:
    return load_settings(StreamwiseSettings)


@contextlib.contextmanager
def _broker_for(settings: StreamwiseSettings) -> Iterator[StreamwiseSettings]:
    """``settings`` with a broker: the configured one, or an embedded one for this command."""
    if settings.broker:
        yield settings
        return
    with embedded_broker(settings.broker_engine, log_dir=settings.log_dir) as broker:
        print(
            f"streamwise: started an embedded {broker.engine} broker at {broker.address}",
            file=sys.stderr,
            flush=True,
        )
        os.environ["STREAMWISE_BROKER"] = broker.address
        os.environ["STREAMWISE_BROKER_ENGINE"] = broker.engine
        yield settings.model_copy(update={"broker": broker.address})


def _require_broker(settings: StreamwiseSettings, verb: str) -> None:
    if not settings.broker:
        msg = (
            f"'{verb}' needs a running broker: set STREAMWISE_BROKER "
            "(e.g. start one with 'streamwise broker' and export the address it prints)"
        )
        raise BrokerNotConfigured(msg)


def cmd_broker(args: argparse.Namespace) -> int:
    with embedded_broker(args.engine, port=args.port, log_dir=_settings().log_dir) as broker:
        print(broker.address, flush=True)
        print(
            f"streamwise: {broker.engine} broker ready; export STREAMWISE_BROKER={broker.address}"
            f"{' STREAMWISE_BROKER_ENGINE=tansu' if broker.engine == 'tansu' else ''}"
            f"; logs in {broker.log_file}; stop with Ctrl-C",
            file=sys.stderr,
            flush=True,
        )
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        while not stop.wait(1.0):
            if not broker.alive:
                msg = f"the broker exited unexpectedly; see {broker.log_file}"
                raise BrokerError(msg)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    check_settings(args.pipeline)
    main = runner(args.pipeline)
    with _broker_for(_settings()) as settings:
        main(settings)
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    settings = _settings()
    _require_broker(settings, "topics")
    specs = all_topics(settings.topic_prefix)
    if args.create:
        created = create_registry_topics(settings)
        print(f"created {len(created)} topic(s)", file=sys.stderr)
    states = topic_states(client_config(settings), specs)
    held = {state.spec.name: state.broker for state in states if state.broker is not None}
    mismatches = registry_mismatches(
        specs, held, partitions=settings.partitions, joined=joined_topics(settings.topic_prefix)
    )
    if not args.check:
        print(f"{'topic':<22} {'partitions':>10} {'messages':>10}  {'cleanup':<8} retention")
        for state in states:
            broker = state.broker
            partitions = str(state.partitions) if state.exists else "missing"
            cleanup = (broker.cleanup_policy or "delete") if broker else "-"
            retention = _retention(broker.retention_ms) if broker else "-"
            print(
                f"{state.spec.name:<22} {partitions:>10} {state.messages:>10}  "
                f"{cleanup:<8} {retention}"
            )
    for mismatch in mismatches:
        print(f"mismatch: {mismatch}", file=sys.stderr)
    if args.check and not mismatches:
        missing = sum(not state.exists for state in states)
        print(
            f"every topic on the broker matches the registry ({missing} not created yet)"
            if missing
            else "every topic matches the registry"
        )
    return EXIT_FAILURE if mismatches and (args.check or args.create) else 0


def _retention(retention_ms: int | None) -> str:
    """Retention as the broker holds it: ``forever``, whole days, or hours."""
    if retention_ms is None:
        return "?"
    if retention_ms < 0:
        return "forever"
    days, rest = divmod(retention_ms, 86_400_000)
    return f"{days}d" if not rest else f"{retention_ms / 3_600_000:g}h"


def cmd_produce(args: argparse.Namespace) -> int:
    settings = _settings()
    _require_broker(settings, "produce")
    topic = spec(args.topic).prefixed(settings.topic_prefix)
    create_registry_topics(settings)
    if args.file == "-":
        report = produce_lines(topic, sys.stdin, producer_config(settings))
    else:
        try:
            source = Path(args.file).open(encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            msg = f"cannot read {args.file}: {exc.strerror or exc}"
            raise InputUnreadable(msg) from exc
        with source:
            report = produce_lines(topic, source, producer_config(settings))
    for number, reason in report.rejected:
        print(f"line {number}: rejected: {reason}", file=sys.stderr)
    for number, warning in report.warnings:
        print(f"line {number}: warning: {warning}", file=sys.stderr)
    print(
        f"sent {report.sent} event(s) to {topic.name}, rejected {len(report.rejected)}",
        file=sys.stderr,
    )
    return EXIT_FAILURE if report.rejected else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.demo import DemoError, run_demo  # noqa: PLC0415 - only for this verb
    from pipelines.devenv.chroma_server import ChromaServerError  # noqa: PLC0415

    try:
        with _broker_for(_settings()) as settings:
            return run_demo(settings, seconds=args.seconds)
    except (DemoError, ChromaServerError) as exc:
        print(f"streamwise demo: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _min_version(text: str) -> tuple[str, int]:
    doc_id, sep, version = text.rpartition("=")
    if not sep or not doc_id or not version.isdigit():
        msg = f"expected DOC_ID=VERSION, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return doc_id, int(version)


def cmd_ask(args: argparse.Namespace) -> int:
    from pipelines.knowledge.ask import ask, format_answer  # noqa: PLC0415

    settings = _settings()
    _require_broker(settings, "ask")
    answer = ask(
        settings,
        args.question,
        customer_id=args.customer_id,
        min_versions=dict(args.min_version) or None,
        timeout_s=args.timeout,
    )
    print(format_answer(answer))
    return 0 if answer.status == "ok" else EXIT_FAILURE


def http_verb(module: str) -> Callable[[argparse.Namespace], int]:
    """A verb that serves HTTP until interrupted, with ``module.serve(settings, host, port)``."""

    def handler(args: argparse.Namespace) -> int:
        settings = _settings()
        _require_broker(settings, args.verb)
        importlib.import_module(module).serve(settings, args.host, args.port)
        return 0

    return handler


def _listen_args(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=port, help=f"listen port (default {port})")


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
        "timeout_s?}; JSON out: the answer) for web apps, by request/reply over the topics.",
    )
    _listen_args(serve, 8080)
    serve.set_defaults(handler=http_verb("pipelines.knowledge.serve"))

    dashboard = verbs.add_parser(
        "dashboard",
        help="a live web page of the feedback pipeline's insights, alerts and search",
        description="Serve a web page that refreshes itself: sentiment and rating over time, "
        "categories, key phrases, sources, the latest alerts, and semantic search over past "
        "feedback. It reads the feedback topics and Chroma.",
    )
    _listen_args(dashboard, 8050)
    dashboard.set_defaults(handler=http_verb("pipelines.feedback.dashboard.server"))

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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``streamwise`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings()
    except SettingsError as exc:
        print(f"streamwise: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logs.configure(settings.log_level, settings.log_format)
    try:
        code = int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except SettingsError as exc:  # a pipeline's own settings (FRAUD_*, FEEDBACK_*, ...)
        print(f"streamwise {args.verb}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `streamwise topics | head`: the reader left (before
        _silence_stdout()  # EXPECTED_ERRORS: a broken pipe is a ConnectionError)
        return 0
    except EXPECTED_ERRORS as exc:
        reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"streamwise {args.verb}: error: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    except QUIX_TOPIC_ERRORS as exc:
        print(f"streamwise {args.verb}: error: {exc} ({QUIX_TOPIC_HINT})", file=sys.stderr)
        return EXIT_FAILURE
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
