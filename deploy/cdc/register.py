"""Create or update a Kafka Connect connector from a JSON file, then wait until it runs.

The compose file's one-shot ``cdc-connector`` service runs it in the streamwise image:
``python register.py NAME FILE``, with ``CONNECT_URL`` set. ``${VAR}`` in the file is
taken from the environment, so the database password stays out of the file.
"""

from __future__ import annotations

import os
import string
import sys
import time
from pathlib import Path

import httpx

WAIT_S = 120.0


def main(name: str, path: str) -> int:
    url = os.environ.get("CONNECT_URL", "http://connect:8083")
    config = string.Template(Path(path).read_text()).substitute(os.environ)
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            response = httpx.put(
                f"{url}/connectors/{name}/config", content=config,
                headers={"Content-Type": "application/json"}, timeout=30,
            )  # fmt: skip
            break
        except httpx.TransportError as exc:
            if time.monotonic() > deadline:
                print(f"register: Kafka Connect at {url} did not answer: {exc}", file=sys.stderr)
                return 1
            time.sleep(2)
    if response.is_error:
        print(f"register: {name} refused: {response.status_code} {response.text}", file=sys.stderr)
        return 1
    while time.monotonic() < deadline:
        status = httpx.get(f"{url}/connectors/{name}/status", timeout=10).json()
        states = [status["connector"]["state"], *(t["state"] for t in status.get("tasks", []))]
        if "FAILED" in states:
            print(f"register: {name} failed: {status}", file=sys.stderr)
            return 1
        if status.get("tasks") and set(states) == {"RUNNING"}:
            print(f"register: {name} running")
            return 0
        time.sleep(1)
    print(f"register: {name} not running within {WAIT_S:.0f}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
