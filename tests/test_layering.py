"""The floors of the code base, enforced: every import, lazy or by string, runs downward.

``ARCHITECTURE.md`` draws the floors. The lower ones must never learn about the upper
ones, or the runtime stops being reusable and import cycles creep back: the review of
issue 13 found every upward arrow starting in ``pipelines/common/``. This test walks
the source of every module, so a new upward import fails here, with its line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("pipelines", "models", "state")
PIPELINES = ("pipelines.fraud", "pipelines.feedback", "pipelines.knowledge", "pipelines.lake",
             "pipelines.cdc", "pipelines.console")  # fmt: skip
LOWER_FLOORS = ("models", "state")
RUNTIME = "pipelines.common"
DEVENV = "pipelines.devenv"

# The composition root at the top of ``pipelines/`` wires the floors together and may
# import anything; nothing below may import it.
COMPOSITION_ROOT = {
    "pipelines",
    "pipelines.cli",
    "pipelines.registry",
    "pipelines.demo",
    "pipelines.cdc_demo",
    "pipelines.scenarios",
    "pipelines.produce",
    "pipelines.fields",
}
# What each package below the root may import of ours besides itself.
ALLOWED: dict[str, tuple[str, ...]] = {
    "models": (),
    "state": (),
    RUNTIME: LOWER_FLOORS,
    DEVENV: (RUNTIME, *LOWER_FLOORS),
    **{pipeline: (RUNTIME, *LOWER_FLOORS) for pipeline in PIPELINES},
}
_MODULE_NAME = re.compile(r"(?:pipelines|models|state)(?:\.\w+)+(?::\w+)?")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def package_of(module: str) -> str:
    """The floor a module belongs to: ``models``, ``state`` or ``pipelines.<package>``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "pipelines" and len(parts) > 1 else parts[0]


def references(path: Path) -> Iterator[tuple[int, str]]:
    """Every module of ours that ``path`` imports, by statement (anywhere) or by string."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value.split(":")[0]] if _MODULE_NAME.fullmatch(node.value) else []
        else:
            continue
        yield from ((node.lineno, name) for name in names if name.split(".")[0] in OURS)


def violations(package: str) -> list[str]:
    allowed = (package, *ALLOWED[package])
    found = []
    for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
        for line, name in references(path):
            if package_of(name) not in allowed:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_floors_below_it(package: str) -> None:
    assert violations(package) == [], f"{package} may import only {ALLOWED[package]}"


def test_every_package_of_ours_has_a_floor() -> None:
    """A new package must be placed on a floor here, or it would escape the check."""
    packages = {
        package_of(module_name(path)) for top in OURS for path in (ROOT / top).rglob("*.py")
    }
    assert packages - set(ALLOWED) - COMPOSITION_ROOT == set(), "place it in ALLOWED or the root"


def test_the_checker_sees_lazy_and_string_imports(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text(
        "def later():\n"
        "    from pipelines.registry import PIPELINES\n"
        "TARGET = 'pipelines.knowledge.serve'\n"
        "SPEC = 'pipelines.fraud.settings:FraudSettings'\n"
        "DOC = 'not pipelines.common at all'\n"
    )
    assert [name for _, name in references(source)] == [
        "pipelines.registry",
        "pipelines.knowledge.serve",
        "pipelines.fraud.settings",
    ]
