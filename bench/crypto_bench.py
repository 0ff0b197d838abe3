"""Benchmark Ed25519 on this machine: cryptography against PyNaCl (libsodium).

cets makes keys and signatures with cryptography and checks requests and answers with
libsodium (``cets.common.signing``), because of what this benchmark shows.

    .venv/bin/python bench/crypto_bench.py

Signs and verifies messages of the sizes cets signs (a search request's signed bytes, an
answer of 10 and of 100 hits), with the same key in both libraries; microseconds per call,
the best of five batches, in ``--rounds`` rounds with the libraries alternated. Results go to
``bench/results/crypto-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import nacl.signing
from _common import header, machine, per_op_us, shown, spread, write
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

SIZES = {
    "request (300 B)": 300,
    "answer, 10 hits (4 KiB)": 4096,
    "answer, 100 hits (40 KiB)": 40960,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key()
    nacl_key = nacl.signing.SigningKey(seed)
    nacl_public = nacl_key.verify_key
    figures: dict[str, dict[str, list[float]]] = {}
    for number in range(args.rounds):
        for name, size in SIZES.items():
            data = os.urandom(size)
            signature = key.sign(data)
            assert nacl_key.sign(data).signature == signature  # the same signature scheme
            ops = {
                "cryptography sign": lambda d=data: key.sign(d),
                "cryptography verify": lambda d=data, s=signature: public.verify(s, d),
                "pynacl sign": lambda d=data: nacl_key.sign(d),
                "pynacl verify": lambda d=data, s=signature: nacl_public.verify(d, s),
            }
            names = list(ops) if number % 2 == 0 else list(reversed(ops))
            for op in names:
                figures.setdefault(name, {}).setdefault(op, []).append(per_op_us(ops[op], 500))
    report: dict[str, Any] = {
        "machine": machine(),
        "rounds": args.rounds,
        "us": {
            size: {op: spread(v, 1) for op, v in ops_.items()} for size, ops_ in figures.items()
        },
    }
    ops_names = ["cryptography sign", "pynacl sign", "cryptography verify", "pynacl verify"]
    lines = [
        "# Ed25519: cryptography vs PyNaCl",
        "",
        header(report["machine"]),
        "",
        f"Microseconds per call, best of five batches of 500, {args.rounds} rounds alternated; "
        "median [lowest, highest round]. Other work on the machine, if any, moves the figures.",
        "",
        "| message | " + " | ".join(ops_names) + " |",
        "|---|" + "---|" * len(ops_names),
    ]
    for size, ops_ in report["us"].items():
        lines.append(f"| {size} | " + " | ".join(shown(ops_[op]) for op in ops_names) + " |")
    write("crypto", report, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
