"""Ed25519 keys for agencies and the federation administrator: making, storing and reading them.

Every agency signs its federated requests and answers with an Ed25519 key of its own; the
federation administrator signs the membership document that lists the agencies and their
public keys. Keys are kept like this:

- A **private key** is a PEM file (PKCS #8, unencrypted) that only its owner may read or write
  (mode 0600). :func:`load_private_key` refuses a file that the group or others can access, as
  SSH does, and says which ``chmod`` fixes it. New directories for keys are made 0700.
- A **public key** is written as text, ``ed25519:`` followed by the 32 raw key bytes in
  standard base64 (with padding), e.g. in membership documents and ``.pub`` files.
  :func:`load_public_key` also reads a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo) file.
- :func:`key_id` is a short fingerprint for logs and tables: 16 hex digits of SHA-256.

Every problem is a :class:`KeyFileError` (a ``ValueError``) whose message names the file (or
"public key text") and what is wrong. Messages never contain key material.

The shared secret for payment-card fingerprints is a key file too: :func:`load_card_key`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cets.core.errors import ConfigError
from cets.core.selectors import MIN_CARD_KEY_BYTES

__all__ = [
    "PUBLIC_KEY_PREFIX",
    "KeyFileError",
    "generate_private_key",
    "key_id",
    "load_card_key",
    "load_private_key",
    "load_public_key",
    "parse_public_key",
    "public_key_text",
    "write_private_key",
    "write_public_key",
]

PUBLIC_KEY_PREFIX = "ed25519:"
RAW_KEY_BYTES = 32
MAX_KEY_FILE_BYTES = 64 * 1024  # a key file is a few hundred bytes; anything big is a mistake
PRIVATE_KEY_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
PUBLIC_KEY_MODE = 0o644


class KeyFileError(ValueError):
    """A key file or key text is missing, unreadable, too open, or not an Ed25519 key."""


def generate_private_key() -> Ed25519PrivateKey:
    """A new random Ed25519 private key."""
    return Ed25519PrivateKey.generate()


# --- writing -------------------------------------------------------------------------------


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` to ``path`` as unencrypted PKCS #8 PEM, readable by the owner only.

    The file is replaced atomically and is 0600 also when it replaces a file that had other
    permissions. Missing parent directories are made 0700.
    """
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _make_private_dirs(path.parent)
    _write_atomically(path, pem, PRIVATE_KEY_MODE)


def write_public_key(path: Path, key: Ed25519PublicKey | Ed25519PrivateKey) -> None:
    """Write the public half of ``key`` to ``path`` as one line of ``ed25519:...`` text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, (public_key_text(key) + "\n").encode("ascii"), PUBLIC_KEY_MODE)


def _make_private_dirs(directory: Path) -> None:
    """Make ``directory`` and any missing parents, each new one with mode 0700."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by someone else; leave its mode alone
        except OSError as exc:
            raise KeyFileError(f"cannot create the directory {new}: {exc.strerror}") from None
        os.chmod(new, PRIVATE_DIR_MODE)  # exactly 0700, whatever the umask


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a new file beside ``path`` with ``mode``, then rename it over ``path``."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise KeyFileError(f"cannot write {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise KeyFileError(f"cannot write {path}: {exc.strerror}") from None


# --- reading -------------------------------------------------------------------------------


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key from a PEM file that only its owner can access."""
    label = f"private key file {path}"
    data = _read_key_file(path, label, private=True)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(
            f"{label} is encrypted with a password; cets needs an unencrypted PKCS #8 key"
        ) from None
    except UnsupportedAlgorithm:
        raise KeyFileError(f"{label} holds a key of an unsupported kind, not Ed25519") from None
    except ValueError:
        raise KeyFileError(f"{label} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{label} holds {_algorithm(key)} key, not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key: ``ed25519:...`` text or a PEM SubjectPublicKeyInfo file."""
    label = f"public key file {path}"
    data = _read_key_file(path, label, private=False)
    if b"PRIVATE KEY-----" in data:
        raise KeyFileError(f"{label} holds a private key; give the public key (the .pub file)")
    if data.lstrip().startswith(b"-----BEGIN"):
        return _load_pem_public_key(data, label)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{label} must hold ed25519:... text or a PEM public key") from None
    return _parse_public_key(text, label)


def _load_pem_public_key(data: bytes, label: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except UnsupportedAlgorithm:
        raise KeyFileError(f"{label} holds a key of an unsupported kind, not Ed25519") from None
    except ValueError:
        raise KeyFileError(f"{label} is not a valid PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{label} holds {_algorithm(key)} key, not an Ed25519 key")
    return key


def _read_key_file(path: Path, label: str, *, private: bool) -> bytes:
    """The bytes of a key file; a private key file must not be accessible by group or others."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not hang us: refused below
    except FileNotFoundError:
        raise KeyFileError(f"{label} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"cannot open the {label}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)  # the file actually opened, not whatever is at the path now
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{label} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if private and mode & 0o077:
            raise KeyFileError(
                f"{label} can be accessed by other users (mode {mode:04o}); "
                f"a private key must be readable by its owner only: run chmod 600 {path}"
            )
        data = b""
        while chunk := os.read(fd, MAX_KEY_FILE_BYTES + 1 - len(data)):
            data += chunk
    except OSError as exc:
        raise KeyFileError(f"cannot read the {label}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{label} is too large to be a key file")
    return data


def _algorithm(key: object) -> str:
    """The algorithm of a key that is not Ed25519, for error messages (never key bytes)."""
    kinds = [
        ((rsa.RSAPrivateKey, rsa.RSAPublicKey), "an RSA"),
        ((ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey), "an elliptic-curve (ECDSA)"),
        ((dsa.DSAPrivateKey, dsa.DSAPublicKey), "a DSA"),
        ((ed448.Ed448PrivateKey, ed448.Ed448PublicKey), "an Ed448"),
        ((x25519.X25519PrivateKey, x25519.X25519PublicKey), "an X25519"),
    ]
    for types, name in kinds:
        if isinstance(key, types):
            return name
    return "another kind of"


# --- public key text -----------------------------------------------------------------------


def public_key_text(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """``"ed25519:"`` and the 32 raw public key bytes in standard base64."""
    return PUBLIC_KEY_PREFIX + base64.b64encode(_raw_public(key)).decode("ascii")


def parse_public_key(text: str) -> Ed25519PublicKey:
    """The key written as ``ed25519:<base64 of 32 bytes>`` (surrounding whitespace ignored)."""
    return _parse_public_key(text, "public key text")


def _parse_public_key(text: str, label: str) -> Ed25519PublicKey:
    text = text.strip()
    if not text.startswith(PUBLIC_KEY_PREFIX):
        raise KeyFileError(f"{label} must start with {PUBLIC_KEY_PREFIX!r}")
    encoded = text[len(PUBLIC_KEY_PREFIX) :]
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{label} is not valid base64 after {PUBLIC_KEY_PREFIX!r}") from None
    if len(raw) != RAW_KEY_BYTES:
        raise KeyFileError(f"{label} must encode {RAW_KEY_BYTES} bytes, not {len(raw)}")
    if base64.b64encode(raw).decode("ascii") != encoded:
        # Unused bits set in the last character: the same key could be written several ways.
        raise KeyFileError(f"{label} is not in canonical base64")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """A short fingerprint of the public key for logs: 16 hex digits of SHA-256 of its bytes."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def _raw_public(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_card_key(path: Path) -> bytes:
    """Read a card-fingerprint key: a file holding at least 32 hexadecimal characters."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the card key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the card key file {path} must hold hexadecimal text") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(f"the card key file {path} must hold hexadecimal text") from None
    if len(key) < MIN_CARD_KEY_BYTES:
        raise ConfigError(f"the card key in {path} is shorter than {MIN_CARD_KEY_BYTES} bytes")
    return key
