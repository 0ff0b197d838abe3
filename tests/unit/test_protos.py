"""The generated contract code is what the .proto files produce: never stale, never hand-edited."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

PROTOS = Path(__file__).resolve().parents[2] / "protos"
GENERATED = PROTOS / "gen"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cets_protos_generate", PROTOS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    _generator().generate(tmp_path)
    fresh = _files(tmp_path)
    committed = _files(GENERATED)
    assert fresh, "the generator wrote nothing"
    assert sorted(committed) == sorted(fresh), "run protos/generate.py: the file set differs"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"run protos/generate.py: stale generated files {stale}"


def test_every_proto_has_generated_code() -> None:
    for proto in (PROTOS / "cets").rglob("*.proto"):
        stem = proto.relative_to(PROTOS).with_suffix("")
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"):
            assert (GENERATED / f"{stem}{suffix}").is_file()
