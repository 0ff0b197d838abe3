"""Writing a sample to disk: one NDJSON file per agency and the planted links' manifest."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cets.search.sample_data._agencies import SampleAgency
from cets.search.sample_data._generator import iter_records
from cets.search.sample_data._links import LinkPlan, plan_links

MIN_TOTAL: Final = 1_000
MAX_TOTAL: Final = 1_000_000


@dataclass(frozen=True)
class SampleManifest:
    """What :func:`write_sample` wrote."""

    out_dir: Path
    seed: int
    counts: Mapping[str, int]
    """Records per agency id."""
    files: Mapping[str, Path]
    """NDJSON file per agency id."""
    links_file: Path
    links: LinkPlan

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def write_sample(
    out_dir: Path,
    agencies: Sequence[SampleAgency],
    total: int,
    *,
    seed: int = 7,
    links: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SampleManifest:
    """Write ``<agency>.ndjson`` per agency (``total`` split evenly) and ``links.json``.

    ``links`` planted suspects (default: one per 2,000 records, at least 5) count toward the
    total. ``progress`` is called with the number of records written so far, every 1,000
    records and once at the end.

    Raises:
        ValueError: ``total`` outside 1,000..1,000,000, no agencies, or too many links.
    """
    if not MIN_TOTAL <= total <= MAX_TOTAL:
        raise ValueError(f"total must be between {MIN_TOTAL:,} and {MAX_TOTAL:,} records")
    if not agencies:
        raise ValueError("at least one agency is needed")
    if links is None:
        links = max(5, total // 2000) if len(agencies) > 1 else 0
    plan = plan_links(agencies, seed=seed, count=links)
    base, extra = divmod(total, len(agencies))
    counts = {a.id: base + (1 if i < extra else 0) for i, a in enumerate(agencies)}
    for agency in agencies:
        if plan.planted_count(agency.id) > counts[agency.id]:
            raise ValueError(
                f"{links} links need more than {counts[agency.id]} records at "
                f"{agency.id}; plant fewer links or generate more records"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    written = 0
    for agency in agencies:
        files[agency.id] = out_dir / f"{agency.id}.ndjson"
        with files[agency.id].open("w", encoding="utf-8", newline="\n") as out:
            for record in iter_records(agency, counts[agency.id], seed=seed, links=plan):
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                out.write("\n")
                written += 1
                if progress is not None and written % 1000 == 0:
                    progress(written)
    links_file = out_dir / "links.json"
    links_file.write_text(plan.to_json() + "\n", encoding="utf-8")
    if progress is not None and written % 1000:
        progress(written)
    return SampleManifest(
        out_dir=out_dir, seed=seed, counts=counts, files=files, links_file=links_file, links=plan
    )
