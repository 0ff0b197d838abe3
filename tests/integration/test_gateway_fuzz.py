"""The officers' REST API fuzzed from its own OpenAPI schema, against a real three-agency stack.

Every operation gets generated requests, valid and invalid, with an officer's token (so they
reach past authentication) and, for the search endpoints, without one or with junk. Whatever
comes in: no 5xx, every status, content type and body is the one the schema declares, and no
answer shows a Python traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cets.core.records import RecordType
from cets.core.selectors import SelectorKind
from stacks import Stack, three_agencies_fixture

pytestmark = pytest.mark.opensearch

AGENCIES = {"tps": "full", "rcmp": "summary", "nca": "hit"}  # their policies (tests/stacks.py)
OPERATIONS = [
    ("POST", "/v1/search"),
    ("POST", "/v1/pivot"),
    ("POST", "/v1/images/hash"),
    ("GET", "/v1/records/{agency}/{record_id}"),
    ("GET", "/v1/health"),
    ("GET", "/v1/ready"),
]
GUARDED = [op for op in OPERATIONS if op[1] not in ("/v1/health", "/v1/ready")]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
TRACEBACK = re.compile(r'Traceback \(most recent call last\)|File "[^"]*", line \d+')
FUZZ = hypothesis.settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


def records(agency: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{agency}-person",
            "type": "person",
            "name": "Dale Angelo",
            "emails": ["dark.angel77@gmail.com"],
            "created": "2025-01-01",
        },
        {
            "id": f"{agency}-tip",
            "type": "tip",
            "text": "User dark.angel77@gmail.com shared a hosting link",
            "emails": ["dark.angel77@gmail.com"],
            "created": "2025-02-01",
        },
        *(
            {
                "id": f"{agency}-chat-{i}",
                "type": "chat_message",
                "sender": f"user{i}",
                "text": f"hosting link number {i}",
                "created": "2025-04-01",
            }
            for i in range(3)
        ),
    ]


running = three_agencies_fixture(records, index_prefix="fuzz", name="running")


@pytest.fixture(scope="module")
def stack(running: Stack) -> Iterator[dict[str, Any]]:
    with running.serve_gateway(rate_limit="100000/minute") as api:
        base_url = str(api.base_url).rstrip("/")
        yield {
            "base_url": base_url,
            "schema": schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=30),
            "token": running.token(officer="det-fuzz", ttl_s=3600),
        }


def with_authorization(case: schemathesis.Case, value: str | None) -> None:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if value is not None:
        headers["Authorization"] = value
    case.headers = headers


Prepare = Callable[[schemathesis.Case, st.DataObject], None]


def fuzz(
    stack: dict[str, Any],
    method: str,
    path: str,
    mode: schemathesis.GenerationMode,
    prepare: Prepare,
    *,
    expect: Callable[[schemathesis.Response], None] = lambda _: None,
) -> None:
    operation = stack["schema"][path][method]
    session = requests.Session()

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        prepare(case, data)
        response = case.call(base_url=stack["base_url"], session=session, timeout=30)
        case.validate_response(response, checks=CHECKS)
        assert not TRACEBACK.search(response.text), f"a traceback in {response.text!r}"
        expect(response)

    try:
        run()
    finally:
        session.close()


POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
# health and ready take no input at all, and any bytes are a valid body for the image hash, so
# nothing about them can be invalid
INVALIDATED = [op for op in GUARDED if op[1] != "/v1/images/hash"]
RUNS = [(*op, POSITIVE) for op in OPERATIONS] + [(*op, NEGATIVE) for op in INVALIDATED]


@pytest.mark.parametrize(
    ("method", "path", "mode"), RUNS, ids=[f"{m} {p} {mode.value}" for m, p, mode in RUNS]
)
def test_an_officers_requests_never_break_the_gateway(
    stack: dict[str, Any], method: str, path: str, mode: schemathesis.GenerationMode
) -> None:
    bearer = f"Bearer {stack['token']}"
    fuzz(stack, method, path, mode, lambda case, _: with_authorization(case, bearer))


# Schema-only data rarely gets past the first check (a known agency, a selector of a known
# kind), so these runs mix real agencies, record ids, selector kinds and record types into
# the generated requests to reach the federation service, the nodes and the merge.
AGENCY = st.sampled_from(sorted(AGENCIES)) | st.text(max_size=8)
FUZZY = st.sampled_from(["dark.angel77@gmail.com", "+14165550142", "dark_angel77"]) | st.text(
    max_size=40
)
SELECTOR = st.builds(
    lambda kind, value: f"{kind}:{value}", st.sampled_from([k.value for k in SelectorKind]), FUZZY
)
RECORD_ID = st.sampled_from(
    [r["id"] for agency in AGENCIES for r in records(agency)] + ["tps-nope"]
) | st.text(max_size=130)


def steer(case: schemathesis.Case, data: st.DataObject) -> None:
    if case.path_parameters:
        case.path_parameters = {
            "agency": data.draw(AGENCY, label="agency"),
            "record_id": data.draw(RECORD_ID, label="record_id"),
        }
    if not isinstance(case.body, dict):
        return
    case.body["targets"] = data.draw(st.lists(AGENCY, max_size=4), label="targets")
    cursors = st.sampled_from([None, None, None, case.body.get("cursor")])
    case.body["cursor"] = data.draw(cursors, label="cursor")
    selectors = data.draw(st.lists(SELECTOR, min_size=1, max_size=4), label="selectors")
    query = case.body.get("query")
    if query is None:  # pivot
        case.body["selectors"] = selectors
        return
    query["selectors"] = data.draw(st.just(selectors) | st.just([]), label="query.selectors")
    query["types"] = data.draw(
        st.lists(st.sampled_from([t.value for t in RecordType]), max_size=3), label="types"
    )
    query["text"] = data.draw(st.sampled_from(["hosting link", "", query.get("text", "")]))


@pytest.mark.parametrize(("method", "path"), GUARDED, ids=[f"{m} {p}" for m, p in GUARDED])
def test_requests_that_reach_the_partners_never_break_the_gateway(
    stack: dict[str, Any], method: str, path: str
) -> None:
    bearer = f"Bearer {stack['token']}"

    def prepare(case: schemathesis.Case, data: st.DataObject) -> None:
        with_authorization(case, bearer)
        steer(case, data)

    fuzz(stack, method, path, POSITIVE, prepare)


def junk_token(case: schemathesis.Case, _: st.DataObject) -> None:
    headers = case.headers or {}
    generated = next((str(v) for k, v in headers.items() if k.lower() == "authorization"), "")
    with_authorization(case, f"Bearer {generated}")


def only_401(response: schemathesis.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers.get("www-authenticate") == ["Bearer"]


@pytest.mark.parametrize(
    "authorize",
    [lambda case, _: with_authorization(case, None), junk_token],
    ids=["no token", "junk token"],
)
@pytest.mark.parametrize(("method", "path"), GUARDED, ids=[f"{m} {p}" for m, p in GUARDED])
def test_without_a_valid_token_every_answer_is_a_declared_401(
    stack: dict[str, Any],
    method: str,
    path: str,
    authorize: Prepare,
) -> None:
    fuzz(stack, method, path, POSITIVE, authorize, expect=only_401)
