"""Java runtimes from Maven Central: a pom's runtime jars resolved once into a cache folder.

Kafka, Kafka Connect and Debezium are not packaged for Debian or PyPI; Maven Central is
the registry these machines (and air-gapped sites' mirrors) reach. A folder is complete
only once every jar was copied (a marker file written last), so an interrupted resolve
is done again rather than run half-installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

_COMPLETE = ".complete"


def complete(jars: Path, required: Sequence[str]) -> bool:
    """Whether ``jars`` holds a finished resolve with every jar in ``required``."""
    return (jars / _COMPLETE).exists() and all((jars / jar).exists() for jar in required)


def resolve_jars(
    pom: str,
    target: Path,
    *,
    required: Sequence[str],
    what: str,
    error: type[Exception],
    without_maven: str,
) -> Path:
    """The runtime jars of ``pom`` in ``target``, resolved with ``mvn`` unless already there.

    ``what`` names the runtime in the progress line and errors; ``without_maven`` is the
    user's way out when ``mvn`` is not installed. Failures raise ``error`` with Maven's
    last lines.
    """
    if complete(target, required):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        msg = f"Maven ('mvn') is needed once to fetch the {what} jars; {without_maven}"
        raise error(msg)
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"streamwise: resolving {what} from Maven Central (first use)...", file=sys.stderr,
          flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        pom_file = Path(work) / "pom.xml"
        pom_file.write_text(pom)
        staged = Path(work) / "jars"
        result = subprocess.run(
            [mvn, "-q", "-B", "-f", str(pom_file), "dependency:copy-dependencies",
             f"-DoutputDirectory={staged}", "-DincludeScope=runtime"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
            msg = f"could not resolve the {what} jars with Maven: {' | '.join(tail)}"
            raise error(msg)
        (staged / _COMPLETE).touch()
        shutil.rmtree(target, ignore_errors=True)  # a cache from before a jar was added
        try:
            staged.rename(target)
        except OSError:
            if not complete(target, required):  # not a concurrent resolve that won
                raise
    return target
