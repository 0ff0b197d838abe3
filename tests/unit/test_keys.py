"""Ed25519 key files: round trips, private files stay private, and errors never show key bytes."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cets.common.keys import (
    KeyFileError,
    generate_private_key,
    key_id,
    load_private_key,
    load_public_key,
    parse_public_key,
    public_key_text,
    write_private_key,
    write_public_key,
)


def raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def secrets_of(path: Path, key: Ed25519PrivateKey) -> list[str]:
    """Every form in which the key's secret could leak into a message."""
    raw = raw_private(key)
    pem_lines = [line for line in path.read_text().splitlines() if not line.startswith("-----")]
    return [*pem_lines, raw.hex(), base64.b64encode(raw).decode()]


def assert_no_secret(message: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in message


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_private_key()


@pytest.fixture
def key_file(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "agency.key"
    write_private_key(path, key)
    return path


# --- private keys --------------------------------------------------------------------------


def test_a_private_key_round_trips(key: Ed25519PrivateKey, key_file: Path) -> None:
    loaded = load_private_key(key_file)
    assert raw_private(loaded) == raw_private(key)
    text = key_file.read_text(encoding="ascii")
    assert text.startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS #8, not encrypted


def test_a_written_private_key_is_0600(key_file: Path) -> None:
    assert mode(key_file) == 0o600


def test_replacing_an_open_file_makes_it_0600(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "agency.key"
    path.write_text("old\n")
    path.chmod(0o644)
    write_private_key(path, key)
    assert mode(path) == 0o600
    assert raw_private(load_private_key(path)) == raw_private(key)


def test_missing_parent_directories_are_made_0700(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "secrets" / "keys" / "agency.key"
    write_private_key(path, key)
    assert mode(tmp_path / "secrets") == 0o700
    assert mode(tmp_path / "secrets" / "keys") == 0o700
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["agency.key"]  # no temporary left


@pytest.mark.parametrize("open_mode", [0o644, 0o640, 0o604, 0o660, 0o620])
def test_a_private_key_others_can_access_is_refused(
    key: Ed25519PrivateKey, key_file: Path, open_mode: int
) -> None:
    key_file.chmod(open_mode)
    with pytest.raises(KeyFileError) as error:
        load_private_key(key_file)
    message = str(error.value)
    assert str(key_file) in message
    assert f"mode {open_mode:04o}" in message
    assert f"chmod 600 {key_file}" in message
    assert_no_secret(message, secrets_of(key_file, key))


def test_a_0400_private_key_is_accepted(key: Ed25519PrivateKey, key_file: Path) -> None:
    key_file.chmod(0o400)
    assert raw_private(load_private_key(key_file)) == raw_private(key)


def test_a_missing_private_key(tmp_path: Path) -> None:
    path = tmp_path / "nope.key"
    with pytest.raises(
        KeyFileError, match=rf"private key file {re.escape(str(path))} does not exist"
    ):
        load_private_key(path)


def test_a_directory_is_not_a_key_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir.key"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_private_key(folder)


def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_private_key(fifo)


def test_a_huge_file_is_not_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.pub"
    path.write_bytes(b"ed25519:" + b"A" * 100_000)
    with pytest.raises(KeyFileError, match="too large to be a key file"):
        load_public_key(path)


def test_garbage_is_not_a_private_key(tmp_path: Path) -> None:
    path = tmp_path / "garbage.key"
    path.write_text("secret-looking garbage 0123456789\n")
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as error:
        load_private_key(path)
    assert str(error.value) == f"private key file {path} is not a PEM private key"


def test_an_ecdsa_private_key_is_the_wrong_algorithm(tmp_path: Path) -> None:
    path = tmp_path / "ec.key"
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as error:
        load_private_key(path)
    message = str(error.value)
    assert "elliptic-curve" in message and "not an Ed25519 key" in message
    assert str(path) in message
    assert_no_secret(message, [line for line in pem.decode().splitlines() if "-----" not in line])


def test_an_encrypted_private_key_is_refused(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "encrypted.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"password"),
        )
    )
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="encrypted with a password"):
        load_private_key(path)


def test_writing_where_a_directory_is_fails_clearly(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "taken"
    path.mkdir()
    (path / "inside").write_text("x")
    with pytest.raises(KeyFileError, match=rf"cannot write {re.escape(str(path))}"):
        write_private_key(path, key)
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # no temporary left


# --- public keys ---------------------------------------------------------------------------


def test_public_key_text_is_prefixed_base64_of_the_raw_bytes(key: Ed25519PrivateKey) -> None:
    text = public_key_text(key)
    assert re.fullmatch(r"ed25519:[A-Za-z0-9+/]{43}=", text)
    assert base64.b64decode(text.removeprefix("ed25519:")) == raw_public(key.public_key())
    assert public_key_text(key.public_key()) == text


def test_public_key_text_round_trips(key: Ed25519PrivateKey) -> None:
    parsed = parse_public_key(public_key_text(key))
    assert raw_public(parsed) == raw_public(key.public_key())
    assert raw_public(parse_public_key(f"  {public_key_text(key)}\n")) == raw_public(parsed)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "must start with 'ed25519:'"),
        ("ssh-ed25519 AAAA", "must start with 'ed25519:'"),
        ("ED25519:" + "A" * 43 + "=", "must start with 'ed25519:'"),
        ("ed25519:not base64!", "is not valid base64 after 'ed25519:'"),
        ("ed25519:" + "A" * 43, "is not valid base64 after 'ed25519:'"),  # padding missing
        ("ed25519:" + base64.b64encode(b"x" * 31).decode(), "must encode 32 bytes, not 31"),
        ("ed25519:" + base64.b64encode(b"x" * 64).decode(), "must encode 32 bytes, not 64"),
        ("ed25519:" + "A" * 42 + "B=", "is not in canonical base64"),  # unused bits set
    ],
)
def test_bad_public_key_text(text: str, problem: str) -> None:
    with pytest.raises(KeyFileError) as error:
        parse_public_key(text)
    assert isinstance(error.value, ValueError)
    assert str(error.value) == f"public key text {problem}"


def test_a_public_key_file_holds_the_text(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "agency.pub"
    write_public_key(path, key)
    assert path.read_text(encoding="ascii") == public_key_text(key) + "\n"
    assert mode(path) == 0o644
    assert raw_public(load_public_key(path)) == raw_public(key.public_key())


def test_a_pem_public_key_file_is_read(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "agency.pem"
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    path.chmod(0o644)  # public keys may be world-readable
    assert raw_public(load_public_key(path)) == raw_public(key.public_key())


def test_a_private_key_is_not_a_public_key_file(key: Ed25519PrivateKey, key_file: Path) -> None:
    with pytest.raises(KeyFileError) as error:
        load_public_key(key_file)
    message = str(error.value)
    assert (
        message
        == f"public key file {key_file} holds a private key; give the public key (the .pub file)"
    )
    assert_no_secret(message, secrets_of(key_file, key))


def test_bad_public_key_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pub"
    with pytest.raises(KeyFileError, match=r"public key file .*missing\.pub does not exist"):
        load_public_key(missing)

    wrong_length = tmp_path / "short.pub"
    wrong_length.write_text("ed25519:" + base64.b64encode(b"k" * 16).decode() + "\n")
    with pytest.raises(KeyFileError) as error:
        load_public_key(wrong_length)
    assert str(error.value) == f"public key file {wrong_length} must encode 32 bytes, not 16"

    binary = tmp_path / "binary.pub"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(
        KeyFileError, match=re.escape("must hold ed25519:... text or a PEM public key")
    ):
        load_public_key(binary)

    ec_pem = tmp_path / "ec.pem"
    ec_pem.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyFileError, match=r"elliptic-curve .* not an Ed25519 key"):
        load_public_key(ec_pem)

    broken_pem = tmp_path / "broken.pem"
    broken_pem.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(KeyFileError, match="not a valid PEM public key"):
        load_public_key(broken_pem)


def test_key_id_is_a_short_sha256_fingerprint(key: Ed25519PrivateKey) -> None:
    expected = hashlib.sha256(raw_public(key.public_key())).hexdigest()[:16]
    assert key_id(key.public_key()) == expected
    assert key_id(key) == expected
    assert key_id(generate_private_key()) != expected


def test_generated_keys_differ() -> None:
    assert raw_private(generate_private_key()) != raw_private(generate_private_key())


def test_umask_does_not_matter(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    old = os.umask(0)
    try:
        write_private_key(tmp_path / "new" / "agency.key", key)
    finally:
        os.umask(old)
    assert mode(tmp_path / "new") == 0o700
    assert mode(tmp_path / "new" / "agency.key") == 0o600
