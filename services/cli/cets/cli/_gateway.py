"""``cets gateway``, ``cets tokens`` and ``cets search``: the officers' side."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from cets.cli._common import fail


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
    type=click.Choice(["officer", "analyst", "supervisor"]),
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


@click.command()
@click.argument("terms", nargs=-1)
@click.option(
    "--gateway",
    "url",
    default=lambda: os.environ.get("CETS_GATEWAY_URL", "http://127.0.0.1:8080"),
    help="Gateway URL [env CETS_GATEWAY_URL].",
)
@click.option(
    "--selector",
    "selectors",
    multiple=True,
    metavar="KIND:VALUE",
    help="Exact identifier, e.g. email:a@b.org (repeatable).",
)
@click.option("--name", default="", help="A person's name (fuzzy and phonetic).")
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
@click.option("--purpose", required=True, help="Why you search (recorded at every agency).")
@click.option("--case", "case", required=True, help="Your case reference.")
@click.option("--agency", "targets", multiple=True, help="Only these agencies (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def search(
    terms: tuple[str, ...],
    url: str,
    selectors: tuple[str, ...],
    name: str,
    image: Path | None,
    max_distance: int,
    rotations: bool,
    purpose: str,
    case: str,
    targets: tuple[str, ...],
    as_json: bool,
) -> None:
    """Search every partner agency through the gateway; print one merged, linked list.

    TERMS are free text. With --image, the image's MD5, SHA-1 and PDQ hashes are computed on
    this machine and only they are sent: records holding the same file, or a PDQ within
    --max-distance, come first, nearest first. The officer token comes from CETS_OFFICER_TOKEN.
    """
    import httpx

    from cets.gateway.display import format_page

    token = os.environ.get("CETS_OFFICER_TOKEN")
    if not token:
        raise fail("set CETS_OFFICER_TOKEN to your officer token (cets tokens issue)")
    query: dict[str, Any] = {"text": " ".join(terms), "selectors": list(selectors), "name": name}
    if image is not None:
        query["image"] = _image_query(image, max_distance=max_distance, rotations=rotations)
    body: dict[str, Any] = {
        "query": query,
        "purpose": purpose,
        "case_reference": case,
        "targets": list(targets),
    }
    try:
        reply = httpx.post(
            f"{url.rstrip('/')}/v1/search",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
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
    click.echo(json.dumps(reply.json(), indent=2) if as_json else format_page(reply.json()))


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
