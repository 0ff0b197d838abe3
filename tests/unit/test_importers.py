"""Importers: VICS JSON and CyberTipline XML become records; every malformed source record is
reported with its place and a reason naming fields (never values), and nothing else is lost.

Fixtures (tests/data/importers, described in its README) follow the published descriptions:
the OData shape of VICS 1.x and 2.0 files and the CyberTipline Reporting API's element names.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cets.cli import cli
from cets.search.importers import (
    Imported,
    ImportItem,
    Note,
    Rejected,
    Settings,
    read_cybertip,
    read_vics,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "importers"
SETTINGS = Settings(datetime(2020, 1, 1, tzinfo=UTC), "CA")
MD5 = "D959D9E29CC1C9AED8477340D5F1EFC7"
SHA1 = "5C6E47D136BAFD217DBE6A86B52C96B8453A483B"


def _vics(data: bytes | dict[str, object]) -> list[ImportItem]:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return list(read_vics(io.BytesIO(raw), SETTINGS))


def _tips(data: bytes) -> list[ImportItem]:
    return list(read_cybertip(io.BytesIO(data), SETTINGS))


def _records(items: list[ImportItem]) -> dict[str, dict[str, object]]:
    return {i.location: i.record for i in items if isinstance(i, Imported)}


def _rejects(items: list[ImportItem]) -> dict[str, str]:
    return {i.location: i.reason for i in items if isinstance(i, Rejected)}


def _no_values_in_reasons(items: list[ImportItem], *values: str) -> None:
    for item in items:
        message = item.reason if isinstance(item, Rejected) else getattr(item, "message", "")
        for value in values:
            assert value.lower() not in message.lower(), (value, message)


# --- VICS -----------------------------------------------------------------------------------


def test_vics_2_0_hash_set() -> None:
    items = _vics((DATA / "vics-2.0-hashset.json").read_bytes())

    records = _records(items)
    assert set(records) == {"value[0]", "value[1]", "value[2]", "value[6]"}
    first = records["value[0]"]
    assert first["type"] == "media_hash"
    assert first["md5"] == MD5.lower() and first["sha1"] == SHA1.lower()
    assert first["filename"] == "synthetic_0001.jpg"  # from RelativeFilePath
    assert first["created"] == "2023-06-07T02:31:49.830000Z"  # DateUpdated
    description = str(first["description"])
    assert description.startswith("Project VIC VICS 2.0 medium 1\nCategory: 1\n")
    assert "Series: Synthetic Series A" in description
    assert "AgeDifficult: true" in description  # an unknown plain field is kept
    assert "MediaSize: 4,165,550,142" in description  # not readable as a phone number
    assert "AAMANwAB" not in description  # PhotoDNA never imported ...
    assert Note("value[0]", next(n.message for n in items if isinstance(n, Note))) in items
    assert records["value[2]"]["created"] == "2020-01-01T00:00:00Z"  # no time: the fallback
    assert "Category: null" in str(records["value[2]"]["description"])
    assert records["value[6]"]["filename"] == "synthetic_0007.png"
    assert "Other file names: copy_of_0007.png" in str(records["value[6]"]["description"])
    assert "EXIF Make: SyntheticCam" in str(records["value[6]"]["description"])

    rejects = _rejects(items)
    assert rejects == {
        "value[3]": "no MD5 or SHA1: a medium needs at least one hash",
        "value[4]": "MD5: not a MD5 (32 hexadecimal digits)",
        "value[5]": "VendorBlob: unknown field holding an object or a list; it cannot be "
        "placed in a media_hash record (remove or flatten it)",
    }
    raw = next(i.raw for i in items if isinstance(i, Rejected) and i.location == "value[4]")
    assert json.loads(raw)["MediaID"] == 5  # the rejects file gets the source excerpt
    _no_values_in_reasons(items, MD5, SHA1, "NOT-HEX", "synthetic")


def test_vics_1_3_case_with_media_inside() -> None:
    items = _vics((DATA / "vics-1.3-case.json").read_bytes())

    records = _records(items)
    assert set(records) == {"value[0].Media[0]", "value[0].Media[2]"}
    first = records["value[0].Media[0]"]
    assert first["sha1"] == SHA1.lower()  # from AlternativeHashes
    assert first["case_ref"] == "SYN-2015-0042"  # CaseNumber, written after the media
    assert first["created"] == "2015-03-02T00:00:00Z"  # the case's SeizureDate
    assert first["filename"] == "synthetic_case_0001.jpg"
    description = str(first["description"])
    assert "VICS 1.3" in description and "Category: 1" in description
    assert "odata" not in description  # protocol annotations are not data
    assert "iVBOR" not in description  # nor is the thumbnail ever kept
    assert _rejects(items) == {"value[0].Media[1]": "MD5: not a MD5 (32 hexadecimal digits)"}
    notes = {n.message for n in items if isinstance(n, Note)}
    assert any("Miniature" in n for n in notes) and any("PhotoDNA" in n for n in notes)


def test_conflicting_hashes_reject_the_medium() -> None:
    medium = {
        "MD5": MD5,
        "SHA1": SHA1,
        "AlternativeHashes": [{"HashName": "SHA1", "HashValue": "0" * 40}],
    }
    items = _vics({"value": [medium]})
    assert _rejects(items) == {
        "value[0]": "AlternativeHashes[0].HashValue: differs from the medium's SHA1"
    }


@pytest.mark.parametrize(
    ("data", "location", "reason"),
    [
        (b"[1, 2]", "file", "top level must be a JSON object"),
        (b'{"value": {"MD5": "x"}}', "value", "value must be a list"),
        (b'{"odata.metadata": "x"}', "file", "no value list"),
        (b"\xff\xfe{\x00}\x00", "file", "UTF-16 or UTF-32"),
        (b"", "after the start of the file", "invalid JSON"),
        (b"not json at all", "after the start of the file", "invalid JSON"),
    ],
)
def test_files_that_are_not_vics(data: bytes, location: str, reason: str) -> None:
    items = _vics(data)
    rejects = [i for i in items if isinstance(i, Rejected)]
    assert len(rejects) == 1 and rejects[0].fatal
    assert rejects[0].location == location
    assert reason in rejects[0].reason
    assert not _records(items)


def test_broken_json_keeps_what_came_before_and_names_the_last_medium() -> None:
    good = {"MediaID": 1, "MD5": MD5}
    text = json.dumps({"value": [good, good]})
    broken = text[:-2] + ', {"MD5": "' + MD5 + '", "Category": tru'  # cut inside the third
    items = _vics(broken.encode())

    assert set(_records(items)) == {"value[0]", "value[1]"}
    fatal = [i for i in items if isinstance(i, Rejected)]
    assert len(fatal) == 1 and fatal[0].fatal
    assert fatal[0].location == "after value[1]"
    assert "invalid JSON" in fatal[0].reason
    _no_values_in_reasons(items, MD5, "tru")


def test_entries_that_are_not_objects_are_rejected_alone() -> None:
    items = _vics({"value": [17, {"MD5": MD5}, "text"]})
    assert set(_records(items)) == {"value[1]"}
    assert set(_rejects(items)) == {"value[0]", "value[2]"}


def test_a_medium_holding_too_much_is_rejected_and_reading_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cets.search.importers import vics

    monkeypatch.setattr(vics, "MAX_MEDIA_BYTES", 1000)
    items = _vics({"value": [{"MD5": MD5, "Comments": "x" * 5000}, {"MD5": MD5}]})
    assert set(_records(items)) == {"value[1]"}
    assert "holds more than" in _rejects(items)["value[0]"]


def test_a_large_hash_set_is_streamed() -> None:
    count = 20_000
    media = ",".join(
        json.dumps({"MediaID": i, "Category": i % 5, "MD5": f"{i:032x}"}) for i in range(count)
    )
    data = (
        '{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/'
        'US/$metadata#Media", "value": [' + media + "]}"
    ).encode()
    items = _vics(data)
    assert len(_records(items)) == count
    assert not _rejects(items)


# --- CyberTipline ----------------------------------------------------------------------------


def test_cybertip_report() -> None:
    items = _tips((DATA / "cybertip-report.xml").read_bytes())

    records = _records(items)
    assert list(records) == ["report at line 4"]
    tip = records["report at line 4"]
    assert tip["type"] == "tip" and tip["source"] == "cybertip"
    assert tip["created"] == "2024-05-01T17:45:00Z"  # incidentDateTime, in UTC
    assert tip["names"] == ["John Smith"]
    assert tip["emails"] == ["John.Smith+photos@GoogleMail.com", "j.smith@example.org"]
    assert tip["usernames"] == ["@DarkAngel_77"]
    assert tip["phones"] == ["+1 416 555 0142"]  # with its countryCallingCode
    assert tip["ips"] == ["203.0.113.7", "::ffff:198.51.100.23"]
    assert tip["urls"] == [
        "https://photos.example.com/u/darkangel_77/album/9",
        "https://photos.example.com/u/darkangel_77",
    ]
    text = str(tip["text"])
    assert "incidentSummary/incidentType: Child Pornography" in text
    assert "ipCaptureEvent[1]: 203.0.113.7 (Login) at 2024-05-01T13:40:00Z port 51514" in text
    assert "personOrUserReported/futureSchemaElement: kept as text" in text  # unknown: kept
    assert "chatImIncident/content: let's move to the other app" in text
    for absent in ("Vicky", "child@example.net", "victim_handle", "Olive", "trust-safety"):
        assert absent not in json.dumps(tip)  # victims, officers, reporters: not imported
    notes = {n.message for n in items if isinstance(n, Note)}
    assert any(n.startswith("victim:") for n in notes)


def test_several_reports_bad_identifiers_kept_as_text_and_an_empty_report() -> None:
    items = _tips((DATA / "cybertip-reports.xml").read_bytes())

    records = _records(items)
    assert list(records) == ["report at line 6", "report at line 17"]
    assert records["report at line 6"]["id"] == "cybertip:123456789"
    second = records["report at line 17"]
    assert "emails" not in second and "phones" not in second and "ips" not in second
    assert "(not a valid email): not-an-email" in str(second["text"])
    assert second["created"] == "2020-01-01T00:00:00Z"  # "last Tuesday" is no time
    assert _rejects(items) == {
        "report at line 31": "the report is empty: no incident, person or internet details"
    }
    notes = [n for n in items if isinstance(n, Note) and n.location == "report at line 17"]
    assert {n.message.split(":")[0] for n in notes} >= {
        "personOrUserReported/personOrUserReportedPerson/email",
        "personOrUserReported/ipCaptureEvent/ipAddress",
    }
    _no_values_in_reasons(items, "not-an-email", "999.1.1.1")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<report><additionalInfo>&lol3;</additionalInfo></report>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE report [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<report><additionalInfo>&xxe;</additionalInfo></report>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BILLION_LAUGHS, "refused (protection against entity expansion"),
        (XXE, "refused (protection against entity expansion"),
        (b'<?xml version="1.0"?><!DOCTYPE report><report/>', "declares a DTD"),
        (b"<report><incidentSummary></report>", "not well-formed XML: mismatched tag"),
        (b'{"value": []}', "not well-formed XML: not well-formed (invalid token)"),
        (b"<html><body>not a report</body></html>", "root element is <html>"),
        (b"", "no element, and no <report> was found"),
    ],
)
def test_xml_that_is_refused_or_not_a_report(data: bytes, reason: str) -> None:
    items = _tips(data)
    rejects = [i for i in items if isinstance(i, Rejected)]
    assert len(rejects) == 1 and rejects[0].fatal, items
    assert reason in rejects[0].reason
    assert not _records(items)
    assert all("passwd" not in r.raw and "lol" not in r.raw for r in rejects)


def test_malformed_xml_keeps_the_reports_before_it() -> None:
    report = b"<report><incidentSummary><incidentType>X</incidentType></incidentSummary></report>"
    items = _tips(b"<reports>\n" + report + b"\n" + report + b"\n<report><oops></report>")
    assert len(_records(items)) == 2
    fatal = [i for i in items if isinstance(i, Rejected)]
    assert len(fatal) == 1 and fatal[0].location.startswith("line 4")


def test_text_longer_than_a_tip_holds_rejects_the_report_only() -> None:
    long = b"<report><additionalInfo>" + b"x" * 100_001 + b"</additionalInfo></report>"
    short = b"<report><additionalInfo>short</additionalInfo></report>"
    items = _tips(b"<reports>" + long + short + b"</reports>")
    assert len(_records(items)) == 1
    assert "more than 100000 characters" in next(iter(_rejects(items).values()))


# --- the command ------------------------------------------------------------------------------


def test_import_command_writes_records_rejects_and_a_summary(tmp_path: Path) -> None:
    source = tmp_path / "set.json"
    source.write_bytes((DATA / "vics-2.0-hashset.json").read_bytes())

    result = CliRunner().invoke(cli, ["import", "vics", str(source), "--region", "CA"])

    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in (tmp_path / "set.json.ndjson").read_text().splitlines()]
    assert len(out) == 4 and all(r["type"] == "media_hash" for r in out)
    rejects = (tmp_path / "set.json.rejects.ndjson").read_text().splitlines()
    assert [json.loads(r)["location"] for r in rejects] == ["value[3]", "value[4]", "value[5]"]
    assert "set.json: value[4]: rejected: MD5: not a MD5" in result.stderr
    assert "wrote 4 records" in result.stdout and "rejected 3" in result.stdout
    for value in (MD5, MD5.lower(), SHA1, SHA1.lower(), "synthetic_0001"):
        assert value not in result.stdout and value not in result.stderr

    again = CliRunner().invoke(cli, ["import", "vics", str(source), "--out", str(tmp_path / "b")])
    assert again.exit_code == 0  # the same file imports to the same records
    assert (tmp_path / "b").read_text() == (tmp_path / "set.json.ndjson").read_text()


def test_import_command_fails_when_the_file_cannot_be_read_to_its_end(tmp_path: Path) -> None:
    source = tmp_path / "bad.xml"
    source.write_bytes(XXE)
    result = CliRunner().invoke(cli, ["import", "cybertip", str(source), "--json"])
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["written"] == 0 and summary["complete"] is False
    assert (tmp_path / "bad.xml.rejects.ndjson").exists()


def test_import_help() -> None:
    result = CliRunner().invoke(cli, ["import", "--help"])
    assert result.exit_code == 0
    assert "cets import vics FILE" in result.output and "cets ingest" in result.output
