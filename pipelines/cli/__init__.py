"""The ``streamwise`` command line: one console script, the verbs of the contract.

``parser.py`` declares the verbs and their flags, ``verbs.py`` runs them. This module
is the entry point (the console script ``pipelines.cli:main``, and ``python -m
pipelines.cli``): every verb takes its settings from flags or the environment, and
expected failures (no broker, bad input, missing Java) become a one-line reason on
stderr and a non-zero exit. So does a bug, saying so, with its traceback written to a
file under the log dir rather than onto the terminal.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

from confluent_kafka import KafkaException
from quixstreams.models.topics.exceptions import (
    TopicConfigurationMismatch,
    TopicNotFoundError,
    TopicPartitionsMismatch,
    TopicPermissionError,
)

from pipelines.cli.parser import EXIT_USAGE, build_parser
from pipelines.cli.verbs import EXIT_FAILURE
from pipelines.common import logs
from pipelines.common.admin import BrokerUnreachable, TopicsUnusable
from pipelines.common.clients import BrokerNotConfigured
from pipelines.common.settings import SettingsError, StreamwiseSettings, load_settings
from pipelines.common.stops import StateDiskFull, lost_broker
from pipelines.devenv.broker import BrokerError

# Failures a user can act on: reported in one line, never as a traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    BrokerError,
    BrokerUnreachable,
    BrokerNotConfigured,
    TopicsUnusable,
    StateDiskFull,
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``streamwise`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(StreamwiseSettings)
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
    except KafkaException as exc:  # raised by a Kafka client outside a pipeline's loop
        lost = lost_broker(exc, settings)
        if lost is None:
            return _report_bug(args.verb, exc, settings.log_dir)
        print(f"streamwise {args.verb}: error: {lost}", file=sys.stderr)
        return EXIT_FAILURE
    except QUIX_TOPIC_ERRORS as exc:
        print(f"streamwise {args.verb}: error: {exc} ({QUIX_TOPIC_HINT})", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # a bug: one line here, the traceback in a file
        return _report_bug(args.verb, exc, settings.log_dir)
    return code


def _report_bug(verb: str, exc: BaseException, log_dir: Path) -> int:
    """One line on stderr for a failure nobody foresaw, its traceback kept in a file.

    A user reading a terminal gets what broke and where the details are; whoever fixes
    it gets the whole traceback, which a one-line message would otherwise throw away.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    crash = log_dir / f"crash-{verb}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    crash.write_text("".join(traceback.format_exception(exc)))
    print(
        f"streamwise {verb}: internal error: {type(exc).__name__}: {exc} "
        f"(a bug: the traceback is in {crash}; please report it)",
        file=sys.stderr,
    )
    return EXIT_FAILURE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
