"""``cets sample``."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def sample() -> None:
    """Synthetic sample investigations for demos, tests and benchmarks."""


@sample.command("generate")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--records",
    type=click.IntRange(1_000, 1_000_000),
    default=3_000,
    show_default=True,
    help="Total records across all agencies.",
)
@click.option(
    "--agencies",
    default="tps,rcmp,nca",
    show_default=True,
    help="Comma-separated ids of the sample agencies (tps, rcmp, nca, afp).",
)
@click.option("--seed", type=int, default=7, show_default=True)
def sample_generate(out_dir: Path, records: int, agencies: str, seed: int) -> None:
    """Write OUT_DIR/<agency>.ndjson per agency and OUT_DIR/links.json (the planted links)."""
    from cets.search.sample_data import DEMO_AGENCIES, write_sample

    known = {a.id: a for a in DEMO_AGENCIES}
    chosen = [a.strip() for a in agencies.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in known]
    if unknown or not chosen:
        raise click.BadParameter(f"unknown agencies {unknown}; choose from {sorted(known)}")
    with click.progressbar(length=records, label="generating", file=sys.stderr) as bar:
        done = [0]

        def progress(count: int) -> None:
            bar.update(count - done[0])
            done[0] = count

        manifest = write_sample(
            out_dir, [known[a] for a in chosen], records, seed=seed, progress=progress
        )
    for agency, count in manifest.counts.items():
        click.echo(f"{out_dir / (agency + '.ndjson')}: {count} records")
    click.echo(f"{out_dir / 'links.json'}: planted cross-agency links")
