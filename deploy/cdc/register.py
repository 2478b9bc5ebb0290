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


NOT_READY = {404, 409, 500, 502, 503}
"""What Connect answers while it starts or rebalances: its REST server listens before its
resources are registered (404) and before the worker has joined its group (409, 5xx)."""


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
            said = f"{response.status_code} {response.text}"
            if response.status_code not in NOT_READY:
                break
        except httpx.TransportError as exc:
            said = f"did not answer: {exc}"
        if time.monotonic() > deadline:
            print(f"register: Kafka Connect at {url} not ready: {said}", file=sys.stderr)
            return 1
        time.sleep(2)
    if response.is_error:
        print(f"register: {name} refused: {said}", file=sys.stderr)
        return 1
    while time.monotonic() < deadline:
        reply = httpx.get(f"{url}/connectors/{name}/status", timeout=10)
        status = reply.json() if reply.is_success else {}
        if "connector" not in status:  # created, not yet started by the worker
            time.sleep(1)
            continue
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
