"""Copy the Secrets mounted under SOURCE to DESTINATION, readable by this user only.

    python copy-secrets.py /secrets /run/cets

Run by each pod's init container, as the services' own user. Kubernetes mounts Secret files
owned by root (group-readable through the pod's fsGroup), while the services refuse private
keys that anyone but their owner can read; so every SOURCE/<secret>/<key> file is copied to
DESTINATION/<secret>/<key> with mode 0400, owned by this user, on an in-memory volume.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def copy_secrets(source: Path, destination: Path) -> list[Path]:
    """Copy every secret file; returns the copies. Hidden entries (``..data``) are skipped."""
    copies = []
    for secret in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")):
        target = destination / secret.name
        target.mkdir(mode=0o700, exist_ok=True)
        for item in sorted(secret.iterdir()):
            if item.name.startswith(".") or not item.is_file():
                continue
            path = target / item.name
            path.unlink(missing_ok=True)  # a 0400 copy from an earlier start cannot be opened
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
            with os.fdopen(fd, "wb") as handle:
                handle.write(item.read_bytes())
            copies.append(path)
    return copies


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    copies = copy_secrets(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"copied {len(copies)} secret files to {sys.argv[2]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
