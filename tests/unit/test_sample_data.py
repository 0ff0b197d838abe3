"""Synthetic sample data: valid records, a realistic mix, and planted links that really link."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from cets.core import names
from cets.core.records import IngestContext, RecordError, prepare
from cets.core.selectors import card_fingerprint, normalize
from cets.search.sample_data import (
    DEMO_AGENCIES,
    LinkPlan,
    SampleAgency,
    iter_records,
    plan_links,
    write_sample,
)

AGENCIES = DEMO_AGENCIES[:3]
PER_AGENCY = 700
SEED = 11
CARD_KEY = b"k" * 32
TEST_CARD_PREFIXES = ("4000", "4111", "4242", "5555", "5105", "2223")
EXPECTED_MIX = {
    "person": 0.15,
    "online_identity": 0.15,
    "phone": 0.05,
    "payment_card": 0.03,
    "card_transaction": 0.15,
    "chat_message": 0.25,
    "arrest": 0.04,
    "case_note": 0.08,
    "tip": 0.08,
    "media_hash": 0.02,
}

Prepared = dict[str, list[tuple[dict[str, Any], dict[str, Any] | str]]]


def _context(agency: SampleAgency) -> IngestContext:
    return IngestContext(agency_id=agency.id, card_key=CARD_KEY, default_region=agency.region)


@pytest.fixture(scope="module")
def plan() -> LinkPlan:
    return plan_links(AGENCIES, seed=SEED, count=6)


@pytest.fixture(scope="module")
def prepared(plan: LinkPlan) -> Prepared:
    """Per agency: each raw record with its prepared document, or the error message."""
    result: Prepared = {}
    for agency in AGENCIES:
        rows: list[tuple[dict[str, Any], dict[str, Any] | str]] = []
        for raw in iter_records(agency, PER_AGENCY, seed=SEED, links=plan):
            try:
                rows.append((raw, prepare(raw, _context(agency)).document))
            except RecordError as exc:
                rows.append((raw, str(exc)))
        result[agency.id] = rows
    return result


def _documents(prepared: Prepared, agency_id: str) -> dict[str, dict[str, Any]]:
    return {raw["id"]: doc for raw, doc in prepared[agency_id] if isinstance(doc, dict)}


def _selectors_by_agency(prepared: Prepared) -> dict[str, set[str]]:
    return {
        agency.id: {
            key
            for doc in _documents(prepared, agency.id).values()
            for key in doc.get("selectors", [])
        }
        for agency in AGENCIES
    }


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


# ---------------------------------------------------------------------------------------------
# Validity


def test_every_record_prepares_without_errors(prepared: Prepared) -> None:
    errors = [
        (raw["id"], doc) for rows in prepared.values() for raw, doc in rows if isinstance(doc, str)
    ]
    assert errors == []
    assert all(len(rows) == PER_AGENCY for rows in prepared.values())


def test_records_are_plain_json_with_unique_numbered_ids(prepared: Prepared) -> None:
    for agency_id, rows in prepared.items():
        ids = [raw["id"] for raw, _ in rows]
        numbers = sorted(int(record_id.rsplit("-", 1)[1]) for record_id in ids)
        assert numbers == list(range(PER_AGENCY))
        for raw, _ in rows:
            assert json.loads(json.dumps(raw)) == raw
            assert raw["id"].startswith(f"{agency_id}-")
            assert "agency" not in raw  # the ingesting node supplies its own id
            assert re.fullmatch(rf"{agency_id.upper()}-202[3-6]-\d{{5}}", raw["case_ref"])


def test_type_mix_is_roughly_that_of_an_agency(prepared: Prepared) -> None:
    types = Counter(raw["type"] for rows in prepared.values() for raw, _ in rows)
    total = sum(types.values())
    assert set(types) == set(EXPECTED_MIX)
    for record_type, expected in EXPECTED_MIX.items():
        assert abs(types[record_type] / total - expected) <= expected / 2, record_type


def test_cases_share_their_people_and_identifiers(prepared: Prepared) -> None:
    """Most cases have records that share a selector (the case hangs together)."""
    for agency in AGENCIES:
        by_case: dict[str, list[set[str]]] = {}
        for raw, doc in prepared[agency.id]:
            assert isinstance(doc, dict)
            by_case.setdefault(raw["case_ref"], []).append(set(doc.get("selectors", [])))
        linked = sum(
            1
            for keys in by_case.values()
            if len(keys) > 1 and any(a & b for a, b in itertools.combinations(keys, 2))
        )
        big = sum(1 for keys in by_case.values() if len(keys) > 1)
        assert len(by_case) >= 10
        assert linked >= 0.9 * big


def test_dates_lie_within_2023_to_2026(prepared: Prepared) -> None:
    fields = ("created", "updated", "sent_at", "reported_at", "arrested_at", "transacted_at")
    years = {
        datetime.fromisoformat(raw[f].replace("Z", "+00:00")).year
        for rows in prepared.values()
        for raw, _ in rows
        for f in fields
        if f in raw
    }
    assert years <= {2023, 2024, 2025, 2026}
    assert len(years) >= 3


def test_handling_is_mostly_amber(prepared: Prepared) -> None:
    handling = Counter(raw["handling"] for rows in prepared.values() for raw, _ in rows)
    assert set(handling) == {"amber", "green", "red", "amber+strict"}
    assert handling["amber"] > sum(handling.values()) / 2


def test_cards_come_from_test_ranges(prepared: Prepared) -> None:
    cards = {
        re.sub(r"\D", "", raw["card_number"])
        for rows in prepared.values()
        for raw, _ in rows
        if "card_number" in raw
    }
    assert cards
    assert all(card.startswith(TEST_CARD_PREFIXES) and len(card) == 16 for card in cards)


def test_free_text_carries_selectors(prepared: Prepared) -> None:
    """The node extracts e-mails, URLs, IPs and phones from text; samples must exercise it."""
    kinds: Counter[str] = Counter()
    for rows in prepared.values():
        for raw, doc in rows:
            assert isinstance(doc, dict)
            text = raw.get("text") or raw.get("narrative") or ""
            for key in doc.get("selectors", []):
                kind, _, value = key.partition(":")
                if kind in ("email", "url", "ip", "phone") and value.lower() in text.lower():
                    kinds[kind] += 1
    assert {"email", "url", "ip"} <= set(kinds)


# ---------------------------------------------------------------------------------------------
# Planted links


def test_planted_selectors_are_shared_by_the_agencies_of_the_plan(
    plan: LinkPlan, prepared: Prepared
) -> None:
    selectors = _selectors_by_agency(prepared)
    for identity in plan.identities:
        assert len(identity.agencies) >= 2
        for key in identity.selectors:
            holders = {agency_id for agency_id, keys in selectors.items() if key in keys}
            assert holders == set(identity.agencies), (identity.link_id, key)
        for appearance in identity.appearances:
            documents = _documents(prepared, appearance.agency_id)
            carried = {
                key
                for record_id in appearance.record_ids
                for key in documents[record_id].get("selectors", [])
            }
            assert set(identity.selectors) <= carried, (identity.link_id, appearance.agency_id)


def test_planted_emails_and_handles_are_spelled_differently_at_each_agency(
    plan: LinkPlan, prepared: Prepared
) -> None:
    for identity in plan.identities:
        for kind in ("email", "username"):
            forms = [getattr(a, kind) for a in identity.appearances]
            assert len(set(forms)) == len(forms), (identity.link_id, kind)
            keys = {normalize(kind, form).key for form in forms}
            assert keys == {k for k in identity.selectors if k.startswith(f"{kind}:")}
        for appearance in identity.appearances:
            raws = {raw["id"]: raw for raw, _ in prepared[appearance.agency_id]}
            person = next(raws[i] for i in appearance.record_ids if raws[i]["type"] == "person")
            assert person["emails"] == [appearance.email]
            assert person["usernames"] == [appearance.username]
            assert person["name"] == appearance.name


def test_planted_phones_are_written_per_region_and_normalise_to_one_number(
    plan: LinkPlan,
) -> None:
    regions = {agency.id: agency.region for agency in AGENCIES}
    dialled_abroad = written_at_home = 0
    for identity in plan.identities:
        key = next(k for k in identity.selectors if k.startswith("phone:"))
        home = phonenumbers.region_code_for_number(phonenumbers.parse(key.partition(":")[2]))
        for appearance in identity.appearances:
            region = regions[appearance.agency_id]
            assert normalize("phone", appearance.phone, default_region=region).key == key
            if not appearance.phone.startswith("+"):
                dialled_abroad += home != region  # e.g. "011 44 7911 123456" in Canada
                written_at_home += home == region  # e.g. "(416) 555-0123"
        assert len({a.phone for a in identity.appearances}) > 1
    assert dialled_abroad and written_at_home


def test_planted_names_vary_but_sound_alike(plan: LinkPlan) -> None:
    varied = 0
    for identity in plan.identities:
        spellings = {a.name for a in identity.appearances}
        assert len({tuple(names.phonetic_keys(n)) for n in spellings}) == 1
        varied += len(spellings) > 1
    assert varied == len(plan.identities)


def test_planted_cards_share_a_fingerprint_but_never_reach_the_manifest(
    plan: LinkPlan, prepared: Prepared
) -> None:
    manifest = plan.to_json()
    with_card = [identity for identity in plan.identities if identity.card_last4]
    assert with_card
    for identity in with_card:
        per_agency: list[set[str]] = []
        for appearance in identity.appearances:
            assert appearance.card is not None
            digits = re.sub(r"\D", "", appearance.card)
            assert digits not in manifest and appearance.card not in manifest
            documents = _documents(prepared, appearance.agency_id)
            carded = [documents[r] for r in appearance.record_ids if "card_last4" in documents[r]]
            assert carded and all(d["card_last4"] == [identity.card_last4] for d in carded)
            per_agency.append(
                {key for d in carded for key in d["selectors"] if key.startswith("card:")}
            )
        assert set.intersection(*per_agency), identity.link_id
        assert len({a.card for a in identity.appearances}) > 1  # spaced vs dashed vs plain


def test_only_planted_identifiers_link_agencies(plan: LinkPlan, prepared: Prepared) -> None:
    """Ordinary records never share an identifier across agencies, except file-host domains."""
    planted = {key for identity in plan.identities for key in identity.selectors}
    planted |= {
        "card:" + card_fingerprint(a.card, CARD_KEY).fingerprint
        for identity in plan.identities
        for a in identity.appearances
        if a.card
    }
    selectors = _selectors_by_agency(prepared)
    for first, second in itertools.combinations(AGENCIES, 2):
        shared = selectors[first.id] & selectors[second.id]
        assert {key.partition(":")[0] for key in shared - planted} <= {"domain"}
        assert shared & planted


def test_plan_manifest_is_json_with_the_ground_truth(plan: LinkPlan) -> None:
    manifest = json.loads(plan.to_json())
    assert manifest["seed"] == SEED
    assert [link["id"] for link in manifest["links"]] == [i.link_id for i in plan.identities]
    first = manifest["links"][0]
    assert first["selectors"] == list(plan.identities[0].selectors)
    for agency_id, entry in first["agencies"].items():
        assert entry["records"] and all(r.startswith(f"{agency_id}-") for r in entry["records"])


def test_plan_rejects_impossible_requests() -> None:
    with pytest.raises(ValueError, match="two agencies"):
        plan_links(AGENCIES[:1], seed=1, count=1)
    with pytest.raises(ValueError, match="distinct"):
        plan_links([AGENCIES[0], AGENCIES[0]], seed=1, count=1)
    plan = plan_links(AGENCIES, seed=1, count=20)
    with pytest.raises(ValueError, match="planted"):
        list(iter_records(AGENCIES[0], 10, seed=1, links=plan))


# ---------------------------------------------------------------------------------------------
# Reproducibility and streaming


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    write_sample(tmp_path / "a", AGENCIES, 1_500, seed=5)
    write_sample(tmp_path / "b", AGENCIES, 1_500, seed=5)
    write_sample(tmp_path / "c", AGENCIES, 1_500, seed=6)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    different = _digests(tmp_path / "c")
    assert all(different[name] != digest for name, digest in _digests(tmp_path / "a").items())


def test_output_does_not_depend_on_hash_randomisation(tmp_path: Path) -> None:
    script = (
        "import hashlib, json, sys\n"
        "from cets.search.sample_data import DEMO_AGENCIES, iter_records, plan_links\n"
        "plan = plan_links(DEMO_AGENCIES, seed=3, count=4)\n"
        "h = hashlib.sha256(plan.to_json().encode())\n"
        "for a in DEMO_AGENCIES:\n"
        "    for r in iter_records(a, 300, seed=3, links=plan):\n"
        "        h.update(json.dumps(r).encode())\n"
        "print(h.hexdigest())\n"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": os.pathsep.join(sys.path)}
        result = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        outputs.add(result.stdout.strip())
    assert len(outputs) == 1


def test_records_stream_without_building_the_whole_list() -> None:
    plan = plan_links(AGENCIES, seed=2, count=3)
    first = list(itertools.islice(iter_records(AGENCIES[0], 1_000_000, seed=2, links=plan), 50))
    assert len(first) == 50


# ---------------------------------------------------------------------------------------------
# write_sample


def test_write_sample_writes_a_file_per_agency_and_the_links(tmp_path: Path) -> None:
    calls: list[int] = []
    manifest = write_sample(tmp_path, DEMO_AGENCIES, 4_002, seed=9, progress=calls.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{a.id}.ndjson" for a in DEMO_AGENCIES] + ["links.json"]
    )
    lines = {a.id: (tmp_path / f"{a.id}.ndjson").read_text().splitlines() for a in DEMO_AGENCIES}
    assert {k: len(v) for k, v in lines.items()} == manifest.counts
    assert manifest.total == sum(len(v) for v in lines.values()) == 4_002
    assert max(manifest.counts.values()) - min(manifest.counts.values()) <= 1
    assert calls == [1000, 2000, 3000, 4000, 4002]
    links = json.loads((tmp_path / "links.json").read_text())
    assert len(links["links"]) == 5  # at least five, however small the sample
    written_ids = {json.loads(line)["id"] for v in lines.values() for line in v}
    planted_ids = {
        r for link in links["links"] for e in link["agencies"].values() for r in e["records"]
    }
    assert planted_ids <= written_ids


def test_write_sample_scales_links_with_the_total(tmp_path: Path) -> None:
    manifest = write_sample(tmp_path, AGENCIES, 30_000, seed=1)
    assert len(manifest.links.identities) == 15


def test_write_sample_with_one_agency_plants_no_links(tmp_path: Path) -> None:
    manifest = write_sample(tmp_path, AGENCIES[:1], 1_000, seed=3)
    assert manifest.counts == {AGENCIES[0].id: 1_000}
    assert json.loads(manifest.links_file.read_text())["links"] == []


@pytest.mark.parametrize("total", [999, 1_000_001, 0])
def test_write_sample_rejects_totals_out_of_range(tmp_path: Path, total: int) -> None:
    with pytest.raises(ValueError, match=r"1,000 and 1,000,000"):
        write_sample(tmp_path, AGENCIES, total)
    assert not any(tmp_path.iterdir())


def test_write_sample_rejects_more_links_than_records(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fewer links"):
        write_sample(tmp_path, AGENCIES, 1_000, links=500)
