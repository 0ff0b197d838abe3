"""``cets federation``: the administrator's tools for the signed membership document."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from cets.cli._common import fail, query_from_options, query_options, who_options

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from cets.common.membership import Member, Membership

ROLES = ("member", "coordinator")
P = ParamSpec("P")
T = TypeVar("T")


@click.group()
def federation() -> None:
    """The federation: its signed membership document, and this agency's federation service.

    \b
    A typical round:
      cets federation init members.json --name demo
      cets federation add members.json --id tps --name "Toronto Police Service" \\
          --endpoint 10.0.0.5:50051 --public-key keys/tps.pub
      cets federation sign members.json --admin-key keys/federation-admin.key
      cets federation verify members.json --admin-public-key keys/federation-admin.pub

    Any edit removes the signature; sign again before handing the file to the nodes.
    """


@federation.command("init")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The federation's name, e.g. demo.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def federation_init(file: Path, name: str, force: bool) -> None:
    """Start a new, empty, unsigned membership document in FILE."""
    from cets.common.membership import draft

    if file.exists() and not force:
        raise fail(f"{file} exists; use --force to replace it")
    _write(file, _edit(draft, name))
    click.echo(f"wrote {file} (federation {name}, no members yet)")


@federation.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--id", "agency_id", required=True, help="The agency's id, e.g. tps.")
@click.option("--name", required=True, help="The agency's full name.")
@click.option("--endpoint", required=True, metavar="HOST:PORT", help="The agency's gRPC node.")
@click.option(
    "--public-key",
    required=True,
    metavar="FILE_OR_TEXT",
    help="The agency's public key: its .pub file, or the ed25519:... text.",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(ROLES),
    default=("member",),
    show_default=True,
    help="A role of the agency (repeatable).",
)
def federation_add(
    file: Path, agency_id: str, name: str, endpoint: str, public_key: str, roles: Sequence[str]
) -> None:
    """Add an active agency to FILE.

    The document's signature is removed: sign it again before handing it out.
    """
    from cets.common.keys import public_key_text
    from cets.common.membership import add_member

    key_text = public_key_text(_public_key(public_key))
    document = _edit(
        add_member,
        _read(file),
        id=agency_id,
        name=name,
        endpoint=endpoint,
        public_key=key_text,
        roles=roles,
    )
    _write(file, document)
    click.echo(f"added {agency_id} to {file}; sign it before handing it out")


@federation.command("revoke")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("agency_id", metavar="ID")
def federation_revoke(file: Path, agency_id: str) -> None:
    """Mark agency ID as revoked in FILE.

    A revoked agency stays listed, so that its key is known and refused. The document's
    signature is removed: sign it again before handing it out.
    """
    from cets.common.membership import set_status

    _write(file, _edit(set_status, _read(file), agency_id, "revoked"))
    click.echo(f"revoked {agency_id} in {file}; sign it before handing it out")


@federation.command("sign")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--admin-key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The federation administrator's private key file.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the signed document here instead of replacing FILE.",
)
def federation_sign(file: Path, admin_key: Path, out: Path | None) -> None:
    """Check and sign the membership document in FILE.

    The serial goes one higher and the issue time is now; nodes should refuse a document
    with a lower serial than the one they have.
    """
    from cets.common.keys import KeyFileError, key_id, load_private_key
    from cets.common.membership import sign

    try:
        key = load_private_key(admin_key)
    except KeyFileError as exc:
        raise fail(str(exc)) from None
    document = _edit(sign, _read(file), key)
    target = out or file
    _write(target, document)
    members = document["members"]
    active = sum(1 for member in members if member["status"] == "active")
    click.echo(
        f"signed {target}: federation {document['federation']}, serial {document['serial']}, "
        f"{len(members)} members ({active} active), administrator key id {key_id(key)}"
    )


@federation.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--admin-public-key",
    required=True,
    metavar="FILE_OR_TEXT",
    help="The administrator's public key: its .pub file, or the ed25519:... text.",
)
def federation_verify(file: Path, admin_public_key: str) -> None:
    """Check FILE's signature and content; list the members.

    Exits 1, saying which entry and field is wrong, when the document is not valid.
    """
    from cets.common.keys import key_id
    from cets.common.membership import MembershipError, load_membership

    admin = _public_key(admin_public_key)
    try:
        membership = load_membership(file, admin)
    except MembershipError as exc:
        raise fail(str(exc)) from None
    issued = membership.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(
        f"{file}: valid; federation {membership.federation}, serial {membership.serial}, "
        f"issued {issued}, signed by administrator key id {key_id(admin)}"
    )
    click.echo(_table(membership))


def _table(membership: Membership) -> str:
    """The members as an aligned text table, in document order."""
    header = ("ID", "NAME", "ENDPOINT", "ROLES", "STATUS", "KEY ID")
    rows = [header, *(_row(member) for member in membership.members.values())]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def _row(member: Member) -> tuple[str, ...]:
    from cets.common.keys import key_id

    roles = ",".join(sorted(member.roles))
    return (
        member.id,
        member.name,
        member.endpoint,
        roles,
        member.status,
        key_id(member.public_key),
    )


def _public_key(value: str) -> Ed25519PublicKey:
    """An Ed25519 public key from ``ed25519:...`` text or from a file holding one."""
    from cets.common.keys import PUBLIC_KEY_PREFIX, KeyFileError, load_public_key, parse_public_key

    try:
        if value.strip().startswith(PUBLIC_KEY_PREFIX):
            return parse_public_key(value)
        return load_public_key(Path(value))
    except KeyFileError as exc:
        raise fail(str(exc)) from None


def _read(path: Path) -> dict[str, Any]:
    from cets.common.membership import read_document

    return _edit(read_document, path)


def _edit(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call a membership function; its ``MembershipError`` ends the command with the message."""
    from cets.common.membership import MembershipError

    try:
        return function(*args, **kwargs)
    except MembershipError as exc:
        raise fail(str(exc)) from None


def _write(path: Path, document: dict[str, Any]) -> None:
    """Replace ``path`` atomically with the document (readable by all: it holds no secrets)."""
    from cets.common.membership import dump_document

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise fail(f"cannot write {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(dump_document(document))
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise fail(f"cannot write {path}: {exc.strerror}") from None


@federation.command("serve")
def federation_serve() -> None:
    """Run this agency's federation service until SIGTERM or Ctrl-C.

    Settings come from the environment: CETS_AGENCY_ID, CETS_AGENCY_KEY_FILE,
    CETS_MEMBERSHIP_FILE, CETS_FEDERATION_ADMIN_KEY_FILE, CETS_FEDERATION_AUDIT_LOG and the
    optional ones in docs/configuration.md.
    """
    from cets.common import runtime, tracing
    from cets.core.errors import ConfigError
    from cets.federation.config import FederationConfig
    from cets.federation.server import serve

    tracing.setup("federation")  # only with OTEL_* settings
    try:
        runtime.run(serve(FederationConfig.from_env()))
    except ConfigError as exc:
        raise fail(f"configuration: {exc}") from None


@federation.command("search")
@click.argument("target")
@query_options
@who_options
@click.option("--agency", "targets", multiple=True, help="Only these agencies (repeatable).")
@click.option("--timeout", "timeout_s", type=float, default=5.0, show_default=True)
@click.option(
    "--wait-for-all",
    is_flag=True,
    help="Wait for every agency until the deadline, not only until nearly all have answered.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def federation_search(
    target: str,
    targets: tuple[str, ...],
    timeout_s: float,
    wait_for_all: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Search every partner at once through the federation service at TARGET (host:port)."""
    import asyncio
    import json

    import grpc
    from google.protobuf import json_format

    from cets.federation.display import format_federated
    from cets.v1 import federation_pb2, federation_pb2_grpc

    request = federation_pb2.FederatedSearchRequest(
        query=query_from_options(options),
        officer_id=options["officer"],
        purpose=options["purpose"],
        case_reference=options["case"],
        targets=list(targets),
        wait_for_all=wait_for_all,
    )

    async def run() -> Any:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = federation_pb2_grpc.FederationStub(channel)
            return await stub.Search(request, timeout=timeout_s + 1)

    try:
        response = asyncio.run(run())
    except grpc.aio.AioRpcError as exc:
        raise fail(f"{target}: {exc.code().name}: {exc.details()}") from None
    if as_json:
        click.echo(json.dumps(json_format.MessageToDict(response), indent=2))
    else:
        click.echo(format_federated(response, max_hits=10))
