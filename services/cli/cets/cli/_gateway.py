"""``cets gateway``, ``cets tokens``, ``cets search``, ``cets pivot`` and ``cets record``: the
officers' side."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from cets.cli._common import fail

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def gateway() -> None:
    """The officers' REST API and web page."""


@gateway.command("serve")
def gateway_serve() -> None:
    """Serve the gateway until SIGTERM or Ctrl-C.

    Settings come from the environment: CETS_AGENCY_ID, CETS_OFFICER_KEY_FILE,
    CETS_GATEWAY_AUDIT_LOG, CETS_FEDERATION_TARGET and the others in docs/configuration.md.
    """
    from cets.common import tracing
    from cets.core.errors import ConfigError
    from cets.gateway.config import GatewayConfig
    from cets.gateway.server import serve

    tracing.setup("gateway")  # only with OTEL_* settings
    try:
        serve(GatewayConfig.from_env())
    except ConfigError as exc:
        raise fail(f"configuration: {exc}") from None


@click.group()
def tokens() -> None:
    """Officer tokens, issued by the agency and checked by its gateway."""


@tokens.command("issue")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(path_type=Path),
    help="The agency's officer-token private key (cets keys agency makes one).",
)
@click.option("--agency", required=True, help="The issuing agency's id.")
@click.option("--officer", required=True, help="The officer's id.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=("officer",),
    show_default=True,
    type=click.Choice(["officer", "analyst", "supervisor", "admin"]),
    help="Repeat for several; admin: decides on partners' release requests.",
)
@click.option("--hours", type=click.FloatRange(0.01, 24), default=8.0, show_default=True)
def tokens_issue(
    key_file: Path, agency: str, officer: str, roles: tuple[str, ...], hours: float
) -> None:
    """Print a signed token for an officer (pass it as Authorization: Bearer TOKEN)."""
    from cets.common.keys import load_private_key
    from cets.gateway.tokens import issue_token

    try:
        key = load_private_key(key_file)
        click.echo(
            issue_token(key, officer=officer, agency=agency, roles=roles, ttl_s=int(hours * 3600))
        )
    except ValueError as exc:
        raise fail(str(exc)) from None


_GATEWAY = click.option(
    "--gateway",
    "url",
    default=lambda: os.environ.get("CETS_GATEWAY_URL", "http://127.0.0.1:8080"),
    help="Gateway URL [env CETS_GATEWAY_URL].",
)
_WHY = [
    click.option("--purpose", required=True, help="Why you search (recorded at every agency)."),
    click.option("--case", "case", required=True, help="Your case reference."),
]
_PAGING = [
    click.option("--agency", "targets", multiple=True, help="Only these agencies (repeatable)."),
    click.option(
        "--page-size", type=click.IntRange(1, 50), default=20, show_default=True, help="Results."
    ),
    click.option("--cursor", default=None, help="The next page: the cursor the last page printed."),
]
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
_DATE = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"])


def _options(options: list[Any]) -> Callable[[F], F]:
    def wrap(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return wrap


def _utc(value: datetime | None) -> str | None:
    """A date or time from the command line (UTC unless it says otherwise), as the API wants."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _call(url: str, method: str, path: str, **kwargs: Any) -> Any:
    """The gateway's JSON answer; its refusal, or no answer, ends the command with the reason."""
    import httpx

    token = os.environ.get("CETS_OFFICER_TOKEN")
    if not token:
        raise fail("set CETS_OFFICER_TOKEN to your officer token (cets tokens issue)")
    try:
        reply = httpx.request(
            method,
            f"{url.rstrip('/')}{path}",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the gateway at {url}: {type(exc).__name__}") from None
    if reply.status_code != 200:
        message = (
            reply.json().get("error", reply.text)
            if reply.headers.get("content-type", "").startswith("application/json")
            else reply.text
        )
        raise fail(f"{reply.status_code}: {message}")
    return reply.json()


def _show(answer: dict[str, Any], as_json: bool) -> None:
    from cets.gateway.display import format_page

    click.echo(json.dumps(answer, indent=2) if as_json else format_page(answer))


@click.command()
@click.argument("terms", nargs=-1)
@_GATEWAY
@click.option(
    "--selector",
    "selectors",
    multiple=True,
    metavar="KIND:VALUE",
    help="Exact identifier, e.g. email:a@b.org (repeatable).",
)
@click.option("--name", default="", help="A person's name (fuzzy and phonetic).")
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="TYPE",
    help="Only records of this type, e.g. person, tip, chat_message (repeatable).",
)
@click.option("--created-from", type=_DATE, help="Only records created at or after (UTC).")
@click.option("--created-to", type=_DATE, help="Only records created at or before (UTC).")
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Find copies of this image (hashed here; only its hashes are sent).",
)
@click.option(
    "--max-distance",
    type=click.IntRange(0, 64),
    default=31,
    show_default=True,
    help="With --image: PDQ Hamming distance, in bits of 256.",
)
@click.option(
    "--rotations", is_flag=True, help="With --image: find rotated and mirrored copies too."
)
@_options(_WHY)
@_options(_PAGING)
@_JSON
def search(
    terms: tuple[str, ...],
    url: str,
    selectors: tuple[str, ...],
    name: str,
    types: tuple[str, ...],
    created_from: datetime | None,
    created_to: datetime | None,
    image: Path | None,
    max_distance: int,
    rotations: bool,
    purpose: str,
    case: str,
    targets: tuple[str, ...],
    page_size: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Search every partner agency through the gateway; print one merged, linked list.

    TERMS are free text. With --image, the image's MD5, SHA-1 and PDQ hashes are computed on
    this machine and only they are sent: records holding the same file, or a PDQ within
    --max-distance, come first, nearest first. The officer token comes from CETS_OFFICER_TOKEN.
    A page that has more prints a cursor: repeat the search with --cursor to see the next page.
    """
    query: dict[str, Any] = {
        "text": " ".join(terms),
        "selectors": list(selectors),
        "name": name,
        "types": list(types),
    }
    for field, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None:
            query[field] = _utc(value)
    if image is not None:
        query["image"] = _image_query(image, max_distance=max_distance, rotations=rotations)
    body = {
        "query": query,
        "purpose": purpose,
        "case_reference": case,
        "targets": list(targets),
        "page_size": page_size,
        "cursor": cursor,
    }
    _show(_call(url, "POST", "/v1/search", json=body), as_json)


@click.command()
@click.argument("selectors", nargs=-1, required=True, metavar="KIND:VALUE...")
@_GATEWAY
@_options(_WHY)
@_options(_PAGING)
@_JSON
def pivot(
    selectors: tuple[str, ...],
    url: str,
    purpose: str,
    case: str,
    targets: tuple[str, ...],
    page_size: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Search every partner for a record's identifiers (one hop out), e.g. the "matched" ones
    a search printed. The officer token comes from CETS_OFFICER_TOKEN."""
    body = {
        "selectors": list(selectors),
        "purpose": purpose,
        "case_reference": case,
        "targets": list(targets),
        "page_size": page_size,
        "cursor": cursor,
    }
    _show(_call(url, "POST", "/v1/pivot", json=body), as_json)


@click.command()
@click.argument("agency")
@click.argument("record_id")
@_GATEWAY
@_options(_WHY)
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def record(agency: str, record_id: str, url: str, purpose: str, case: str, as_json: bool) -> None:
    """One record in full, fetched from the AGENCY that holds it, as far as its policy allows.
    The officer token comes from CETS_OFFICER_TOKEN."""
    from urllib.parse import quote

    hit = _call(
        url,
        "GET",
        f"/v1/records/{quote(agency, safe='')}/{quote(record_id, safe='')}",
        params={"purpose": purpose, "case_reference": case},
    )
    if as_json:
        click.echo(json.dumps(hit, indent=2))
        return
    from cets.core.display import plain_text  # a record's text cannot drive the terminal

    click.echo(
        plain_text(f"{hit['agency']}/{hit['record_id']}  {hit['type']}  ({hit['disclosure']})")
    )
    for label, value in (("title", hit["title"]), ("created", hit["created"])):
        if value:
            click.echo(plain_text(f"  {label}: {value}"))
    if hit["selectors"]:
        click.echo(plain_text(f"  identifiers: {', '.join(hit['selectors'])}"))
    for key, value in _flatten(hit.get("record") or {}):
        click.echo(plain_text(f"  {key}: {value}"))


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, inner in value.items():
            rows += _flatten(inner, f"{prefix}.{key}" if prefix else key)
        return rows
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return [(prefix, ", ".join(str(v) for v in value))]
        return [row for i, v in enumerate(value) for row in _flatten(v, f"{prefix}[{i}]")]
    return [(prefix, str(value))]


def _image_query(path: Path, *, max_distance: int, rotations: bool) -> dict[str, Any]:
    from cets.common.imagehash import ImageError, hash_file

    try:
        hashes = hash_file(path, dihedral=rotations, max_bytes=256 * 1024 * 1024)
    except ImageError as exc:
        raise fail(f"{path}: {exc}") from None
    except OSError as exc:
        raise fail(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if hashes.low_quality:
        click.echo(
            f"{path}: PDQ quality {hashes.quality} is below 50 (a flat image): near matches "
            "may be unrelated",
            err=True,
        )
    return {
        "pdq": list(hashes.dihedral or [hashes.pdq]),
        "max_distance": max_distance,
        "md5": hashes.md5,
        "sha1": hashes.sha1,
    }
