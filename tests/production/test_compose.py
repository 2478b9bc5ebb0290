"""docker-compose.yml: valid for Compose, and everything it runs or sets exists in streamwise.

There is no Docker engine here; ``docker-compose config`` (Debian's docker-compose)
validates and resolves the file without one. The checks that follow catch what
Compose cannot: a service running a verb that does not exist, or a variable no
settings class reads (a typo that would silently leave a default in force).
"""

from __future__ import annotations

import importlib
import inspect
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from pipelines.cli.parser import build_parser
from pipelines.common.settings import KAFKA_PASSTHROUGH_PREFIX
from pipelines.registry import PIPELINES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE, ENV_EXAMPLE = ROOT / "docker-compose.yml", ROOT / ".env.example"
OTHER_PROGRAMS = {"chroma"}
"""Programs besides ``streamwise`` that services of our image may run (the Chroma server)."""
DEPLOY_SCRIPTS = {"/opt/cdc/": ROOT / "deploy" / "cdc"}
"""Scripts of ours a one-shot service runs with the image's Python, by where they are mounted."""


def deploy_script(service: dict[str, Any]) -> Path | None:
    """The script of ours a service runs (``python /opt/cdc/register.py ...``), if it runs one."""
    entrypoint = service.get("entrypoint") or []
    if entrypoint[:1] != ["python"] or len(entrypoint) < 2:
        return None
    for mounted, folder in DEPLOY_SCRIPTS.items():
        if entrypoint[1].startswith(mounted):
            return folder / entrypoint[1].removeprefix(mounted)
    return None


def known_settings() -> set[str]:
    """Every variable a settings class reads: each ``pipelines/*/settings.py`` BaseSettings."""
    names: set[str] = set()
    for path in sorted(ROOT.glob("pipelines/*/settings.py")):
        module = importlib.import_module(f"pipelines.{path.parent.name}.settings")
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, BaseSettings) and cls is not BaseSettings:
                prefix = str(cls.model_config.get("env_prefix", ""))
                names |= {(prefix + field).upper() for field in cls.model_fields}
    return names


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    compose = shutil.which("docker-compose")
    assert compose, "install Debian's docker-compose (apt-get install docker-compose)"
    done = subprocess.run(
        [compose, "--project-directory", str(ROOT), "-f", str(COMPOSE),
         "--env-file", str(ENV_EXAMPLE), "config"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def ours(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services built from this repository's image."""
    return {name: svc for name, svc in config["services"].items() if "build" in svc}


def test_every_service_of_our_image_runs_a_real_streamwise_verb(resolved: dict[str, Any]) -> None:
    parser = build_parser()
    services = ours(resolved)
    for name, service in services.items():
        entrypoint = service.get("entrypoint")
        script = deploy_script(service)
        if script is not None:
            assert script.is_file(), f"{name} runs {entrypoint!r}, which is not in deploy/"
            continue
        if entrypoint:
            assert entrypoint[0] in OTHER_PROGRAMS, f"{name} runs {entrypoint!r}"
            continue
        try:
            parser.parse_args(service["command"])
        except SystemExit as exc:
            pytest.fail(f"service {name}: 'streamwise {' '.join(service['command'])}' ({exc})")
    ran = {tuple(s.get("command", ())) for s in services.values()}
    assert {("run", p) for p in PIPELINES} <= ran, "one service per pipeline"
    assert ("serve", "--host", "0.0.0.0", "--port", "8080") in ran


def test_every_variable_set_on_our_services_is_a_known_setting(resolved: dict[str, Any]) -> None:
    known = known_settings()
    for name, service in ours(resolved).items():
        script = deploy_script(service)
        if script is not None:  # a script's variables are its own, or its files'
            read = "".join(path.read_text() for path in script.parent.iterdir())
            unread = [var for var in service.get("environment", {}) if var not in read]
            assert not unread, f"service {name} sets variables {script.name} never reads: {unread}"
            continue
        unknown = {
            var
            for var in service.get("environment", {})
            if var not in known and not var.startswith(KAFKA_PASSTHROUGH_PREFIX)
        }
        assert not unknown, f"service {name} sets variables no settings class reads: {unknown}"


def test_every_variable_the_file_reads_is_in_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    example = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert used - example == set(), "document them in .env.example"


def test_fraud_can_be_scaled_out(resolved: dict[str, Any]) -> None:
    fraud = resolved["services"]["fraud"]
    # a fixed name or host port would clash between replicas; a named volume on /data
    # would make them share one RocksDB directory
    assert "container_name" not in fraud
    assert "ports" not in fraud
    named = set(resolved.get("volumes", {}))
    assert not [v for v in fraud.get("volumes", []) if str(v).split(":")[0] in named]


def test_pipelines_wait_for_their_dependencies_to_be_healthy(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in PIPELINES:
        depends = services[name]["depends_on"]
        assert depends["topics"]["condition"] == "service_completed_successfully", name
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("kafka", "chroma", "ollama"):
        assert services[name]["healthcheck"]["test"], name


def test_the_e2e_override_puts_every_service_on_the_host_network() -> None:
    """``make e2e`` runs with no bridge network: a service the override forgets has no
    network at all there, and waits for a broker it can never reach."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    override = yaml.safe_load((ROOT / "deploy" / "compose.e2e.yml").read_text())["services"]
    forgotten = [name for name in services if name not in override]
    assert not forgotten, f"add them to deploy/compose.e2e.yml: {forgotten}"
    assert all(svc.get("network_mode") == "host" for svc in override.values())
