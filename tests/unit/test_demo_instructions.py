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

    urls = {item.agency.id: f"http://127.0.0.1:{8080 + i}" for i, item in enumerate(running)}
    text = _demo._while_running(running, urls, tmp_path)

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


def test_every_agency_gets_its_web_page_and_an_officer_token_it_accepts(tmp_path: Path) -> None:
    import re

    from cets.common.keys import load_public_key
    from cets.gateway.tokens import verify_token

    samples = list(DEMO_AGENCIES[:3])
    fed = build_local_federation(
        tmp_path / "federation", [AgencySpec(s.id, s.name, s.region) for s in samples]
    )
    running = [_demo._Running(fed.agency(s.id), s, url="http://127.0.0.1:9200") for s in samples]
    urls = {item.agency.id: f"http://127.0.0.1:{8080 + i}" for i, item in enumerate(running)}

    text = _demo._while_running(running, urls, tmp_path)

    for item in running:
        agency = item.agency
        block = re.search(
            rf"^  {agency.id}: web page (\S+)/ .*\n    officer token: (\S+)$", text, re.M
        )
        assert block, text
        assert block.group(1) == urls[agency.id]
        officer = verify_token(
            block.group(2), load_public_key(agency.directory / "officer.pub"), agency=agency.id
        )
        assert officer.agency == agency.id
