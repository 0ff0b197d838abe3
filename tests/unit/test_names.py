"""Name folding and phonetic keys."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cets.core.names import fold, name_tokens, phonetic_keys

relaxed = settings(deadline=None)

latin_names = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x24F) | st.sampled_from(" -'\u2019"),
    max_size=40,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Zoë Ångström-Ólafsdóttir", "zoe angstrom olafsdottir"),
        ("JOSÉ  García", "jose garcia"),
        ("  Mary-Jane\tWatson ", "mary jane watson"),
        ("O\u2019Brien", "o'brien"),
        ("'Smith'", "smith"),
        ("Łukasz Żółć", "lukasz zolc"),
        ("Straße", "strasse"),
        ("Søren Kierkegaard", "soren kierkegaard"),
        ("Þór Æsa Đorđe Œuvre", "thor aesa dorde oeuvre"),
        ("Y\u0131ld\u0131z", "yildiz"),  # dotless i
        ("İstanbul", "istanbul"),
        ("J.R.R. Tolkien", "j r r tolkien"),
        ("Smith, John (Jr.)", "smith john jr"),
        ("Иван Петров", "иван петров"),
        ("", ""),
        (" - ", ""),
    ],
)
def test_fold_examples(raw: str, expected: str) -> None:
    assert fold(raw) == expected


def test_name_tokens() -> None:
    assert name_tokens("Zoë Ångström-Ólafsdóttir") == ["zoe", "angstrom", "olafsdottir"]
    assert name_tokens("   ") == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("John Smith", ["JN", "SM0"]),
        ("Jon Smyth", ["JN", "SM0"]),
        ("JOSÉ García", ["JS", "KRX"]),
        ("Catherine", ["K0RN"]),
        ("Katherine", ["K0RN"]),
        ("Thomas", ["0MS"]),
        ("O'Brien", ["OBRN"]),
        ("Müller", ["MLR"]),
        ("Mueller", ["MLR"]),
        ("John Jon J. Smith", ["JN", "SM0"]),  # duplicates and one-letter words dropped
        ("Иван 42", []),  # nothing metaphone can encode
        ("", []),
    ],
)
def test_phonetic_keys_examples(raw: str, expected: list[str]) -> None:
    assert phonetic_keys(raw) == expected


def test_sound_alikes_share_keys() -> None:
    assert phonetic_keys("Jon Smyth") == phonetic_keys("John Smith")
    assert phonetic_keys("Katherine") == phonetic_keys("Catherine")


@relaxed
@given(st.text(max_size=60) | latin_names)
def test_fold_is_idempotent_and_clean(raw: str) -> None:
    folded = fold(raw)
    assert fold(folded) == folded
    assert folded == folded.strip()
    assert "  " not in folded
    assert not re.search(r"[-\t\n]", folded)
    assert name_tokens(raw) == folded.split()


@relaxed
@given(latin_names)
def test_fold_ignores_case(raw: str) -> None:
    assert fold(raw.upper()) == fold(raw) == fold(raw.lower())


@relaxed
@given(st.text(max_size=60) | latin_names)
def test_phonetic_keys_shape(raw: str) -> None:
    keys = phonetic_keys(raw)
    assert len(keys) == len(set(keys))
    assert all(key and key == key.upper() for key in keys)
    assert phonetic_keys(fold(raw)) == keys


@relaxed
@given(st.text(st.characters(max_codepoint=0x7F), max_size=40))
def test_ascii_names_fold_as_any_text_does(name: str) -> None:
    from cets.core.names import _folded_words

    words = (word.strip("'") for word in _folded_words(name).split())
    assert fold(name) == " ".join(word for word in words if word)
