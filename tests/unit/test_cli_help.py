"""The command line: every command explains itself, bad usage exits 2, and key files are private."""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from cets.cli import cli
from cets.common.keys import load_card_key


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """The command group configures the root logger; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {
        name: logging.getLogger(name).level
        for name in ("opensearch", "opensearchpy.trace", "urllib3")
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in noisy.items():
        logging.getLogger(name).setLevel(saved)


WHO = ("--officer", "det-1", "--purpose", "test", "--case", "C-1")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="cets")


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(cli))


def test_the_command_tree_is_found() -> None:
    assert ("node", "search") in COMMANDS
    assert ("keys", "card-key") in COMMANDS
    assert len(COMMANDS) > 5


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "cets")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help(path: tuple[str, ...], flag: str) -> None:
    result = run(*path, flag)
    assert result.exit_code == 0, result.output
    usage = " ".join(("cets", *path))
    assert re.search(rf"^Usage: {re.escape(usage)}( |$)", result.output, re.MULTILINE), (
        result.output
    )
    assert result.stderr == ""


def test_a_bad_selector_is_a_usage_error() -> None:
    result = run("federation", "search", "127.0.0.1:1", *WHO, "--selector", "nokind")
    assert result.exit_code == 2
    assert "selector must be KIND:VALUE with KIND one of email, phone" in result.stderr


def test_an_unknown_selector_kind_is_a_usage_error() -> None:
    result = run("federation", "search", "127.0.0.1:1", *WHO, "--selector", "fax:123")
    assert result.exit_code == 2
    assert "selector must be KIND:VALUE" in result.stderr


def test_an_unknown_record_type_is_a_usage_error() -> None:
    result = run("federation", "search", "127.0.0.1:1", *WHO, "--text", "x", "--type", "letter")
    assert result.exit_code == 2
    assert "unknown record type 'letter'" in result.stderr


def test_card_key_writes_a_private_hex_key(tmp_path: Path) -> None:
    out = tmp_path / "keys" / "card.key"
    result = run("keys", "card-key", str(out))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="ascii")
    assert re.fullmatch(r"[0-9a-f]{64}\n", text)
    assert len(load_card_key(out)) == 32


def test_card_key_does_not_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "card.key"
    assert run("keys", "card-key", str(out)).exit_code == 0
    first = out.read_text(encoding="ascii")

    refused = run("keys", "card-key", str(out))
    assert refused.exit_code == 1
    assert "exists; use --force" in refused.stderr
    assert out.read_text(encoding="ascii") == first

    forced = run("keys", "card-key", str(out), "--force")
    assert forced.exit_code == 0
    second = out.read_text(encoding="ascii")
    assert re.fullmatch(r"[0-9a-f]{64}\n", second)
    assert second != first
