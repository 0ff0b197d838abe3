"""The package builds cleanly: no setuptools warning about its layout, and the wheel holds the
web page's files and the case store's migrations (data-only packages)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_builds_without_warnings_and_ships_the_web_page(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in ("services", "protos"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    out = tmp_path / "wheel"
    build = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v"),
            *("--no-cache-dir", "-w", str(out), str(source)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    log = build.stdout + build.stderr
    assert "absent from the `packages` configuration" not in log
    assert "Package would be ignored" not in log
    (wheel,) = out.glob("cets-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    static = ROOT / "services/gateway/cets/gateway/static"
    for asset in static.iterdir():
        assert f"cets/gateway/static/{asset.name}" in names
    migrations = ROOT / "services/gateway/cets/gateway/cases/migrations"
    for script in [*migrations.glob("*.*"), *migrations.glob("versions/*.py")]:
        assert f"cets/gateway/cases/migrations/{script.relative_to(migrations)}" in names
