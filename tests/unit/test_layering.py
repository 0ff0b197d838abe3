"""The house, bottom to top: the contract, the domain core, common mechanisms, the services, and
the command line with the demo. Imports go down, never sideways between services, never up.

Every ``import`` in every module under ``services/`` is read (including imports inside
functions), so a lazy import cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"

# room -> the rooms it may import (besides the standard library and third-party packages)
ALLOWED: dict[str, frozenset[str]] = {
    "cets.v1": frozenset(),
    "cets.core": frozenset({"cets.core", "cets.v1"}),
    "cets.common": frozenset({"cets.common", "cets.core", "cets.v1"}),
    "cets.search": frozenset({"cets.search", "cets.common", "cets.core", "cets.v1"}),
    "cets.federation": frozenset({"cets.federation", "cets.common", "cets.core", "cets.v1"}),
    "cets.gateway": frozenset({"cets.gateway", "cets.common", "cets.core", "cets.v1"}),
    "cets.cli": frozenset(
        {"cets.cli", "cets.demo", "cets.search", "cets.federation", "cets.gateway"}
        | {"cets.common", "cets.core", "cets.v1"}
    ),
}
ALLOWED["cets.demo"] = ALLOWED["cets.cli"]

# What the domain core must never touch: files, sockets, processes, servers, clients, logs.
CORE_FORBIDDEN_MODULES = frozenset(
    {
        "asyncio",
        "http",
        "io",
        "logging",
        "os",
        "pathlib",
        "shutil",
        "socket",
        "sqlite3",
        "subprocess",
        "tempfile",
        "threading",
        "urllib",
        "alembic",
        "fastapi",
        "grpc",
        "httpx",
        "opensearchpy",
        "PIL",
        "psycopg",
        "sqlalchemy",
        "uvicorn",
    }
)
CORE_FORBIDDEN_CALLS = frozenset({"open", "print", "input", "exec", "eval", "__import__"})


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "cets" or len(parts) < 2:
        return None
    return ".".join(parts[:2])


def module_name(path: Path) -> str:
    """``services/<folder>/cets/x/y.py`` -> ``cets.x.y``."""
    relative = path.relative_to(SERVICES)
    parts = list(relative.parts[1:])
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return found


def violations(source: str, module: str) -> list[str]:
    """What in ``source`` (the text of ``module``) breaks the layering."""
    tree = ast.parse(source)
    room = room_of(module)
    assert room in ALLOWED, f"{module} is in no known room"
    problems = []
    for line, target in imported_modules(tree, module):
        target_room = room_of(target)
        if target_room is not None and target_room not in ALLOWED[room]:
            problems.append(f"{module}:{line} imports {target} ({room} may not import it)")
        if room == "cets.core" and target.split(".")[0] in CORE_FORBIDDEN_MODULES:
            problems.append(f"{module}:{line} imports {target}: the core does no I/O")
    if room == "cets.core":
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in CORE_FORBIDDEN_CALLS
            ):
                problems.append(
                    f"{module}:{node.lineno} calls {node.func.id}(): no I/O in the core"
                )
    return problems


def service_modules() -> list[Path]:
    return sorted(p for p in SERVICES.glob("*/cets/**/*.py") if "__pycache__" not in p.parts)


def test_every_service_module_is_in_a_known_room() -> None:
    modules = service_modules()
    assert len(modules) > 50  # the walk found the code
    unknown = [str(p) for p in modules if room_of(module_name(p)) not in ALLOWED]
    assert not unknown


def test_imports_go_down_the_house_and_the_core_does_no_io() -> None:
    problems = [
        problem
        for path in service_modules()
        for problem in violations(path.read_text(encoding="utf-8"), module_name(path))
    ]
    assert not problems, "\n".join(problems)


def test_the_core_has_its_own_folder_and_each_service_its_own() -> None:
    for folder, room in [
        ("core", "cets.core"),
        ("common", "cets.common"),
        ("search", "cets.search"),
        ("federation", "cets.federation"),
        ("gateway", "cets.gateway"),
        ("cli", "cets.cli"),
    ]:
        rooms = {room_of(module_name(p)) for p in (SERVICES / folder).glob("cets/**/*.py")}
        assert room in rooms, folder


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("cets.federation.x", "from cets.search.store import connect\n", "may not import"),
        ("cets.gateway.x", "def f():\n    import cets.federation.local\n", "may not import"),
        ("cets.search.x", "from cets.gateway import api\n", "may not import"),
        ("cets.common.x", "from cets.search.config import NodeConfig\n", "may not import"),
        ("cets.core.x", "from cets.common.audit import AuditLog\n", "may not import"),
        ("cets.core.x", "import os\n", "no I/O"),
        ("cets.core.x", "from pathlib import Path\n", "no I/O"),
        ("cets.core.x", "def f():\n    return open('f').read()\n", "no I/O"),
        ("cets.core.selectors.x", "from ...search import dsl\n", "may not import"),
    ],
)
def test_a_broken_layering_is_caught(module: str, source: str, expected: str) -> None:
    problems = violations(source, module)
    assert problems and expected in problems[0]


def test_allowed_imports_pass() -> None:
    assert not violations("from cets.core.query import SearchQuery\n", "cets.gateway.x")
    assert not violations("from cets.search.config import NodeConfig\n", "cets.demo.local")
    assert not violations("import re\nfrom cets.v1 import search_pb2\n", "cets.core.x")
