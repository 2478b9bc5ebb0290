"""The verbs of ``streamwise``: one ``cmd_*`` per verb, given its parsed arguments.

Each returns the exit code; an expected failure is raised (``pipelines.cli.main``
reports it in one line). Verbs that need a broker use the configured one
(``STREAMWISE_BROKER``) or, for ``run`` and ``demo``, start an embedded one.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from pipelines.cdc.settings import CdcSettings
from pipelines.common.acls import CLIENTS, client_acls, render
from pipelines.common.admin import topic_states
from pipelines.common.auth import is_loopback, load_tokens, new_token
from pipelines.common.clients import (
    BrokerNotConfigured,
    client_config,
    create_registry_topics,
    producer_config,
)
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.common.topic_checks import registry_mismatches
from pipelines.common.topics import all_topics, joined_topics, spec
from pipelines.devenv.broker import BrokerError, RunningBroker, embedded_broker
from pipelines.produce import produce_lines
from pipelines.registry import check_settings, runner

EXIT_FAILURE = 1


class InputUnreadable(ValueError):
    """A file given on the command line cannot be read (missing, a folder, no permission)."""


logger = logging.getLogger(__name__)


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
    stop = threading.Event()
    # Installed before the address is printed: a caller that reads it and stops the broker
    # at once must meet the handler, not Python's default (death by the signal).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with embedded_broker(
        args.engine, port=args.port, data_dir=args.data_dir, log_dir=_settings().log_dir
    ) as broker:
        print(broker.address, flush=True)
        print(
            f"streamwise: {broker.engine} broker ready; export STREAMWISE_BROKER={broker.address}"
            f"{' STREAMWISE_BROKER_ENGINE=tansu' if broker.engine == 'tansu' else ''}"
            f"; {_kept(broker)}; logs in {broker.log_file}; stop with Ctrl-C",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(1.0):
            if not broker.alive:
                msg = f"the broker exited unexpectedly; see {broker.log_file}"
                raise BrokerError(msg)
    return 0


def _kept(broker: RunningBroker) -> str:
    """Where the broker's data lives, so nobody mistakes an empty broker for theirs."""
    if broker.data_dir is None:
        return "it starts empty and forgets everything on exit (--data-dir DIR keeps it)"
    state = "restored from" if broker.restored else "new, kept in"
    return f"data {state} {broker.data_dir}"


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


def cmd_acls(args: argparse.Namespace) -> int:
    settings = _settings()
    clients = [args.pipeline] if args.pipeline else list(CLIENTS)
    rules = [
        client_acls(
            client,
            topic_prefix=settings.topic_prefix,
            exactly_once=settings.processing_guarantee == "exactly-once",
            principal=args.principal.format(client=client),
            dlq_reader=args.dlq_reader,
            external_reads=_external_reads(client),
        )
        for client in clients
    ]
    sys.stdout.write(render(rules))
    return 0


def _external_reads(client: str) -> tuple[str, ...]:
    """The topics ``client`` reads that other tools write: ``cdc``'s connector topics."""
    if client != "cdc":
        return ()
    return tuple(source.connector_topic for source in load_settings(CdcSettings).sources())


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
    create_registry_topics(settings, [args.topic])
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
    from pipelines.devenv.connect import ConnectError  # noqa: PLC0415
    from pipelines.devenv.postgres import PostgresError  # noqa: PLC0415

    try:
        with _broker_for(_settings()) as settings:
            if args.cdc:
                from pipelines.cdc_demo import run_cdc_demo  # noqa: PLC0415

                return run_cdc_demo(settings)
            return run_demo(settings, seconds=args.seconds)
    except (DemoError, ChromaServerError, ConnectError, PostgresError) as exc:
        print(f"streamwise demo: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


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


def _check_exposure(settings: StreamwiseSettings, verb: str, host: str, *, insecure: bool) -> None:
    """Without tokens an HTTP surface answers anyone, so it listens on loopback only.

    ``--insecure-no-auth`` lifts that, and the log says so: the choice stays visible.
    """
    if settings.auth_tokens_file is not None or is_loopback(host):
        return
    if not insecure:
        msg = (
            f"refusing to listen on {host} without STREAMWISE_AUTH_TOKENS_FILE: anyone who "
            "reaches it could ask for any customer; make tokens with 'streamwise token new' "
            "or pass --insecure-no-auth"
        )
        raise ValueError(msg)
    logger.warning("%s listens on %s with no authentication (--insecure-no-auth)", verb, host)


def http_verb(module: str) -> Callable[[argparse.Namespace], int]:
    """A verb that serves HTTP until interrupted, with ``module.serve(settings, host, port)``."""

    def handler(args: argparse.Namespace) -> int:
        settings = _settings()
        _check_exposure(settings, args.verb, args.host, insecure=args.insecure_no_auth)
        _require_broker(settings, args.verb)
        importlib.import_module(module).serve(settings, args.host, args.port)
        return 0

    return handler


def cmd_token_new(args: argparse.Namespace) -> int:
    """Append a new token's line to the tokens file; print the token itself only here."""
    path = _settings().auth_tokens_file
    if path is None:
        msg = "set STREAMWISE_AUTH_TOKENS_FILE to the tokens file to append to"
        raise ValueError(msg)
    existing = path.read_text() if path.exists() else ""
    if existing:
        load_tokens(path)  # a broken file is reported before it grows
    token, line = new_token(args.name, args.scope)
    with path.open("a") as tokens:  # hashes only: the services' users may read it
        # a file edited by hand may end without a newline: never join two lines
        tokens.write(line if existing.endswith("\n") or not existing else "\n" + line)
    print(token)
    print(f"streamwise token: {args.name} ({args.scope}) added to {path}", file=sys.stderr)
    return 0


EXIT_BAD_QUERY = 2
"""SQL the lake cannot answer is a bad argument: the exit code of a usage error."""


def cmd_lake_query(args: argparse.Namespace) -> int:
    """SQL over the lake's tables, as a text table or one JSON object per line."""
    from pipelines.lake import query  # noqa: PLC0415 - DuckDB and pyiceberg only for this verb
    from pipelines.lake.settings import LakeSettings  # noqa: PLC0415

    catalog = query.open_lake(_settings(), load_settings(LakeSettings))
    try:
        answer = query.query(catalog, args.sql)
    except query.BadQuery as exc:
        print(f"streamwise lake: error: {exc}", file=sys.stderr)
        return EXIT_BAD_QUERY
    for table in answer.empty_tables:
        print(f"streamwise lake: {table} holds no rows yet", file=sys.stderr)
    if args.format == "json":
        for line in query.json_lines(answer):
            print(line)
    else:
        print(query.table_text(answer))
    return 0
