"""The officers' web page's files: native ES modules, no bundler. Every module the page loads
ships in the package (flat in static/, which the package data's ``static/*`` covers), none
writes markup, and the gateway serves each one as JavaScript. The browser test
(tests/integration/test_web_page.py) drives the page itself."""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cets.common.audit import AuditLog
from cets.gateway import api
from cets.gateway.api import Gateway, create_app
from helpers import ServedApp

STATIC = Path(api.__file__).parent / "static"
MODULES = sorted(p.name for p in STATIC.glob("*.js"))
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^'"]*?\bfrom\s+["']([^"']+)["']""", re.M)
SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(")


def imports(module: str) -> list[str]:
    return IMPORT.findall((STATIC / module).read_text(encoding="utf-8"))


def test_the_page_loads_its_entry_as_a_module() -> None:
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts == ['<script type="module" src="/static/app.js">']


def test_every_module_is_a_flat_file_reached_from_the_entry() -> None:
    assert [p for p in STATIC.rglob("*") if p.is_dir()] == []  # static/* ships every file
    reached, todo = set(), ["app.js"]
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        for name in imports(module):
            assert name.startswith("./") and "/" not in name[2:], f"{module} imports {name}"
            assert (STATIC / name[2:]).is_file(), f"{module} imports a missing {name}"
            todo.append(name[2:])
    assert reached == set(MODULES)  # and no module lies unused


def test_no_module_writes_markup() -> None:
    for module in MODULES:
        script = (STATIC / module).read_text(encoding="utf-8")
        for sink in SINKS:
            assert sink not in script, f"{module} uses {sink}"


def test_the_gateway_serves_every_module_as_javascript(tmp_path: Path) -> None:
    gateway = Gateway(
        agency_id="tps",
        officer_key=Ed25519PrivateKey.generate().public_key(),
        federation_target="127.0.0.1:9",  # never called: only static files are fetched
        audit=AuditLog(tmp_path / "gateway.log"),
        cursor_key=b"k" * 32,
    )
    with ServedApp(create_app(gateway)) as http:
        for module in MODULES:
            reply = http.get(f"/static/{module}")
            assert reply.status_code == 200, module
            assert reply.headers["content-type"].startswith("text/javascript"), module
