"""``cets keys`` for signing keys and ``cets federation``: the administrator's whole round."""

from __future__ import annotations

import json
import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cets.cli import cli
from cets.common.keys import key_id, load_private_key, load_public_key, public_key_text
from cets.common.membership import load_membership

AGENCIES = [
    ("tps", "Toronto Police Service", "127.0.0.1:50051", ["member"]),
    ("rcmp", "Royal Canadian Mounted Police", "127.0.0.1:50052", ["coordinator", "member"]),
    ("opp", "Ontario Provincial Police", "[::1]:50053", ["member"]),
]


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """The command group configures the root logger; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args], prog_name="cets")


def ok(*args: str | Path) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def rows(output: str) -> dict[str, list[str]]:
    """The verify table's rows by agency id: id, name, endpoint, roles, status, key id."""
    table = output.splitlines()[1:]
    assert re.split(r"\s{2,}", table[0]) == ["ID", "NAME", "ENDPOINT", "ROLES", "STATUS", "KEY ID"]
    return {cells[0]: cells for cells in (re.split(r"\s{2,}", line) for line in table[1:])}


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    ok("keys", "admin", directory)
    for agency_id, *_ in AGENCIES:
        ok("keys", "agency", directory, "--agency", agency_id)
    return directory


@pytest.fixture
def members(tmp_path: Path, keys_dir: Path) -> Path:
    path = tmp_path / "members.json"
    ok("federation", "init", path, "--name", "demo")
    for agency_id, name, endpoint, roles in AGENCIES:
        role_options = [arg for role in roles for arg in ("--role", role)]
        ok(
            "federation",
            "add",
            path,
            "--id",
            agency_id,
            "--name",
            name,
            "--endpoint",
            endpoint,
            "--public-key",
            keys_dir / f"{agency_id}.pub",
            *role_options,
        )
    ok("federation", "sign", path, "--admin-key", keys_dir / "federation-admin.key")
    return path


def test_key_files_are_written_and_private(keys_dir: Path) -> None:
    names = sorted(path.name for path in keys_dir.iterdir())
    assert names == [
        "federation-admin.key",
        "federation-admin.pub",
        "opp.key",
        "opp.pub",
        "rcmp.key",
        "rcmp.pub",
        "tps.key",
        "tps.pub",
    ]
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    for name in names:
        mode = stat.S_IMODE((keys_dir / name).stat().st_mode)
        assert mode == (0o600 if name.endswith(".key") else 0o644), name
    private = load_private_key(keys_dir / "tps.key")
    assert public_key_text(load_public_key(keys_dir / "tps.pub")) == public_key_text(private)


def test_the_full_round(tmp_path: Path, keys_dir: Path, members: Path) -> None:
    admin_pub = keys_dir / "federation-admin.pub"
    output = ok("federation", "verify", members, "--admin-public-key", admin_pub)
    assert output.splitlines()[0].startswith(
        f"{members}: valid; federation demo, serial 1, issued "
    )
    table = rows(output)
    assert list(table) == ["tps", "rcmp", "opp"]
    tps_key = key_id(load_public_key(keys_dir / "tps.pub"))
    assert table["tps"] == [
        "tps",
        "Toronto Police Service",
        "127.0.0.1:50051",
        "member",
        "active",
        tps_key,
    ]
    assert table["rcmp"][3] == "coordinator,member"
    assert table["opp"][2] == "[::1]:50053"

    ok("federation", "revoke", members, "rcmp")
    unsigned = run("federation", "verify", members, "--admin-public-key", admin_pub)
    assert unsigned.exit_code == 1
    assert "signature: missing" in unsigned.stderr

    signed = ok("federation", "sign", members, "--admin-key", keys_dir / "federation-admin.key")
    assert "serial 2, 3 members (2 active)" in signed
    output = ok("federation", "verify", members, "--admin-public-key", admin_pub)
    assert "serial 2" in output.splitlines()[0]
    table = rows(output)
    assert table["rcmp"][4] == "revoked"
    assert table["tps"][4] == table["opp"][4] == "active"

    membership = load_membership(members, load_public_key(admin_pub))
    assert [m.id for m in membership.active_members()] == ["opp", "tps"]


def test_verify_accepts_the_admin_key_as_text(keys_dir: Path, members: Path) -> None:
    text = (keys_dir / "federation-admin.pub").read_text().strip()
    ok("federation", "verify", members, "--admin-public-key", text)


def test_verify_rejects_tampering(keys_dir: Path, members: Path) -> None:
    document = json.loads(members.read_text())
    document["members"][0]["endpoint"] = "203.0.113.66:50051"
    members.write_text(json.dumps(document))
    result = run(
        "federation", "verify", members, "--admin-public-key", keys_dir / "federation-admin.pub"
    )
    assert result.exit_code == 1
    expected = "Error: signature: does not verify with the federation administrator's key\n"
    assert result.stderr == expected
    assert result.stdout == ""


def test_verify_rejects_another_administrator(keys_dir: Path, members: Path) -> None:
    result = run("federation", "verify", members, "--admin-public-key", keys_dir / "tps.pub")
    assert result.exit_code == 1
    assert "signature: made with a different key than the administrator's" in result.stderr


def test_verify_refuses_a_private_key_as_the_admin_public_key(
    keys_dir: Path, members: Path
) -> None:
    admin_key = keys_dir / "federation-admin.key"
    result = run("federation", "verify", members, "--admin-public-key", admin_key)
    assert result.exit_code == 1
    assert "holds a private key; give the public key" in result.stderr
    secret_lines = [line for line in admin_key.read_text().splitlines() if "-----" not in line]
    assert not any(line in result.output for line in secret_lines)


def test_sign_to_another_file(tmp_path: Path, keys_dir: Path, members: Path) -> None:
    out = tmp_path / "published" / "members.json"
    ok(
        "federation",
        "sign",
        members,
        "--admin-key",
        keys_dir / "federation-admin.key",
        "--out",
        out,
    )
    assert json.loads(out.read_text())["serial"] == 2
    assert json.loads(members.read_text())["serial"] == 1


def test_sign_refuses_an_open_admin_key(keys_dir: Path, members: Path) -> None:
    admin_key = keys_dir / "federation-admin.key"
    admin_key.chmod(0o644)
    result = run("federation", "sign", members, "--admin-key", admin_key)
    assert result.exit_code == 1
    assert f"chmod 600 {admin_key}" in result.stderr


def test_add_errors_name_the_entry(keys_dir: Path, members: Path) -> None:
    before = members.read_text()
    common = ["--name", "X", "--public-key", keys_dir / "opp.pub"]
    bad_port = run("federation", "add", members, "--id", "sq", "--endpoint", "h:0", *common)
    assert bad_port.exit_code == 1
    assert "members[3] (sq): endpoint must be host:port" in bad_port.stderr
    duplicate = run("federation", "add", members, "--id", "tps", "--endpoint", "h:1", *common)
    assert duplicate.exit_code == 1
    assert 'members[3]: duplicate id "tps"' in duplicate.stderr
    bad_role = run(
        "federation", "add", members, "--id", "sq", "--endpoint", "h:1", "--role", "boss", *common
    )
    assert bad_role.exit_code == 2
    assert members.read_text() == before


def test_revoke_an_unknown_agency(members: Path) -> None:
    result = run("federation", "revoke", members, "fbi")
    assert result.exit_code == 1
    assert 'no member has the id "fbi"' in result.stderr


def test_init_does_not_overwrite_without_force(members: Path) -> None:
    before = members.read_text()
    refused = run("federation", "init", members, "--name", "other")
    assert refused.exit_code == 1
    assert "exists; use --force" in refused.stderr
    assert members.read_text() == before
    ok("federation", "init", members, "--name", "other", "--force")
    assert json.loads(members.read_text())["federation"] == "other"


def test_keys_are_not_overwritten_without_force(keys_dir: Path) -> None:
    before = (keys_dir / "tps.key").read_bytes()
    refused = run("keys", "agency", keys_dir, "--agency", "tps")
    assert refused.exit_code == 1
    assert "tps.key exists; use --force" in refused.stderr
    assert (keys_dir / "tps.key").read_bytes() == before
    admin_refused = run("keys", "admin", keys_dir)
    assert admin_refused.exit_code == 1

    ok("keys", "agency", keys_dir, "--agency", "tps", "--force")
    assert (keys_dir / "tps.key").read_bytes() != before
    assert stat.S_IMODE((keys_dir / "tps.key").stat().st_mode) == 0o600


def test_a_bad_agency_id_is_a_usage_error(tmp_path: Path) -> None:
    result = run("keys", "agency", tmp_path, "--agency", "Toronto PS")
    assert result.exit_code == 2
    assert "Invalid value for '--agency'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_show_public(keys_dir: Path) -> None:
    text = (keys_dir / "tps.pub").read_text().strip()
    expected = f"{text}\nkey id: {key_id(load_public_key(keys_dir / 'tps.pub'))}\n"
    assert ok("keys", "show-public", keys_dir / "tps.key") == expected
    assert ok("keys", "show-public", keys_dir / "tps.pub") == expected
    missing = run("keys", "show-public", keys_dir / "nope.key")
    assert missing.exit_code == 1
    assert "does not exist" in missing.stderr
