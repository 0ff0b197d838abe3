"""What the command groups share: failing with a message, and the node's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def fail(message: str) -> click.ClickException:
    """An error that ends the command with exit code 1 and ``Error: message``."""
    return click.ClickException(message)


NODE_OPTIONS = [
    click.option("--agency", default=None, help="This agency's id [env CETS_AGENCY_ID]."),
    click.option(
        "--opensearch-url", default=None, help="The agency's OpenSearch [env OPENSEARCH_URL]."
    ),
    click.option(
        "--card-key-file",
        default=None,
        type=click.Path(path_type=Path),
        help="Card-fingerprint key file [env CETS_CARD_KEY_FILE].",
    ),
    click.option(
        "--region",
        default=None,
        help="Country for phone numbers without a country code, e.g. CA [env CETS_DEFAULT_REGION].",
    ),
]


def node_options(func: Any) -> Any:
    for option in reversed(NODE_OPTIONS):
        func = option(func)
    return func


def node_config(**overrides: Any) -> Any:
    from cets.core.errors import ConfigError
    from cets.search.config import NodeConfig

    try:
        return NodeConfig.from_env(
            agency_id=overrides.get("agency"),
            opensearch_url=overrides.get("opensearch_url"),
            card_key_file=overrides.get("card_key_file"),
            default_region=overrides.get("region"),
            listen=overrides.get("listen"),
        )
    except ConfigError as exc:
        raise fail(f"configuration: {exc}") from None


QUERY_OPTIONS = [
    click.option("--text", default="", help="Free text (BM25); quotes, - and | are operators."),
    click.option(
        "--selector",
        "selectors",
        multiple=True,
        metavar="KIND:VALUE",
        help="Exact identifier, e.g. email:a@b.org or phone:+14165550142 (repeatable).",
    ),
    click.option("--name", default="", help="A person's name (fuzzy and phonetic)."),
    click.option("--type", "types", multiple=True, help="Only these record types (repeatable)."),
    click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True),
]

WHO_OPTIONS = [
    click.option("--officer", required=True, help="Your officer id (recorded at every agency)."),
    click.option("--purpose", required=True, help="Why you search (recorded at every agency)."),
    click.option("--case", required=True, help="Your case reference."),
]


def query_options(func: Any) -> Any:
    for option in reversed(QUERY_OPTIONS):
        func = option(func)
    return func


def who_options(func: Any) -> Any:
    for option in reversed(WHO_OPTIONS):
        func = option(func)
    return func


def query_from_options(options: dict[str, Any]) -> Any:
    """The query the options describe; a usage error (exit 2) says what is wrong."""
    from cets.core.display import build_query

    try:
        return build_query(
            text=options["text"],
            selectors=options["selectors"],
            name=options["name"],
            types=options["types"],
            limit=options["limit"],
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
