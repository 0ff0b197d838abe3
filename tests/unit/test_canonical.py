"""Canonical JSON: the bytes cets signs and hashes never change, whatever the value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cets.common.canonical import canonical_json

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_the_bytes_are_sorted_compact_utf8_json(value: Any) -> None:
    expected = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    assert canonical_json(value) == expected.encode("utf-8")
    assert json.loads(canonical_json(value)) == value


def test_an_example_byte_for_byte() -> None:
    value = {"b": [1, 2.5, None, True], "a": "café ✓\n", "é": {}}
    assert canonical_json(value) == '{"a":"café ✓\\n","b":[1,2.5,null,true],"é":{}}'.encode()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {"x": b"bytes"}, {"x": object()}])
def test_what_is_not_json_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        canonical_json(bad)
