"""What ``cets demo --keep-running`` tells a new user must work: records they ingest with the
printed settings land in the index that agency's running node searches."""

from __future__ import annotations

from pathlib import Path

from cets.demo import _demo
from cets.demo.local import AgencySpec, build_local_federation
from cets.search.config import NodeConfig
from cets.search.sample_data import DEMO_AGENCIES


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return dict(pairs)


def test_the_printed_settings_ingest_where_the_demo_node_searches(tmp_path: Path) -> None:
    samples = list(DEMO_AGENCIES[:2])
    fed = build_local_federation(
        tmp_path / "federation", [AgencySpec(s.id, s.name, s.region) for s in samples]
    )
    running = [
        _demo._Running(fed.agency(s.id), s, url=f"http://127.0.0.1:{9200 + i}")
        for i, s in enumerate(samples)
    ]

    text = _demo._while_running(running, "http://127.0.0.1:8080", tmp_path)

    for item in running:
        env_file = tmp_path / f"{item.agency.id}.env"
        assert env_file.is_file()
        ingest_config = NodeConfig.from_env(_env_file(env_file))  # what `cets ingest` reads
        node_config = _demo._node_config(item, tmp_path)  # what the demo's node serves
        assert ingest_config.index == node_config.index
        assert ingest_config.opensearch_url == item.url
        assert ingest_config.card_key == node_config.card_key
    assert f". {tmp_path}/{running[-1].agency.id}.env" in text
    assert "cets ingest" in text and "cets search" in text
    assert "http://127.0.0.1:8080/" in text  # the web page, not only the API docs
