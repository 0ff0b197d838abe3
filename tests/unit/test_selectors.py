"""Selector normalisation: examples for each rule and properties that must always hold."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable

import phonenumbers
import pytest
from hypothesis import assume, example, given, reject, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains, urls

from cets.core.selectors import (
    MAX_TEXT_LENGTH,
    CardFingerprint,
    Selector,
    SelectorError,
    SelectorKind,
    card_fingerprint,
    domain_of_url,
    extract_from_text,
    normalize,
    normalize_domain,
    normalize_email,
    normalize_hash,
    normalize_ip,
    normalize_phone,
    normalize_url,
    normalize_username,
)

KEY = b"0123456789abcdef"
OTHER_KEY = b"fedcba9876543210"
VISA = "4111111111111111"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

relaxed = settings(deadline=None)


def _accepted(function: Callable[[str], str], raw: str) -> str:
    """``function(raw)``; a value it rejects is skipped as an invalid example."""
    try:
        return function(raw)
    except SelectorError:
        reject()


# --------------------------------------------------------------------------------------------
# Selector


def test_key_and_from_key() -> None:
    selector = Selector(SelectorKind.URL, "http://example.com/a:b")
    assert selector.key == "url:http://example.com/a:b"
    assert Selector.from_key(selector.key) == selector


def test_selector_accepts_kind_as_string() -> None:
    selector = Selector("email", "a@example.com")  # type: ignore[arg-type]
    assert selector.kind is SelectorKind.EMAIL
    assert selector == Selector(SelectorKind.EMAIL, "a@example.com")


def test_selectors_sort() -> None:
    selectors = [
        Selector(SelectorKind.PHONE, "+1"),
        Selector(SelectorKind.EMAIL, "b"),
        Selector(SelectorKind.EMAIL, "a"),
    ]
    assert [s.key for s in sorted(selectors)] == ["email:a", "email:b", "phone:+1"]


@pytest.mark.parametrize("key", ["", "email", "nope:x", "email:", "email: a@b.com", ":x"])
def test_from_key_rejects(key: str) -> None:
    with pytest.raises(SelectorError):
        Selector.from_key(key)


@relaxed
@given(
    st.sampled_from(list(SelectorKind)),
    st.text(min_size=1).filter(lambda v: v == v.strip()),
)
def test_from_key_round_trip(kind: SelectorKind, value: str) -> None:
    selector = Selector(kind, value)
    assert Selector.from_key(selector.key) == selector


# --------------------------------------------------------------------------------------------
# E-mail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Foo@Example.COM ", "foo@example.com"),
        ("ｆｏｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "foo@example.com"),  # noqa: RUF001 - NFKC
        ("user@Bücher.example", "user@xn--bcher-kva.example"),
        ("a+b@example.com", "a+b@example.com"),  # unknown provider: the tag stays
        ("a.b@example.com", "a.b@example.com"),
        ("John.Doe+news@GMail.com", "johndoe@gmail.com"),
        ("j.o.h.n+x@googlemail.com", "john@gmail.com"),
        ("Alice.B+tag@Outlook.com", "alice.b@outlook.com"),
        ("a+b@hotmail.com", "a@hotmail.com"),
        ("a+b@live.com", "a@live.com"),
        ("a+b@icloud.com", "a@icloud.com"),
        ("a+b@me.com", "a@me.com"),
        ("a+b@protonmail.com", "a@protonmail.com"),
        ("a+b@proton.me", "a@proton.me"),
        ("a+b+c@fastmail.com", "a@fastmail.com"),
        ("first-last@yahoo.com", "first-last@yahoo.com"),  # yahoo is left alone
        ("first.last+x@yahoo.com", "first.last+x@yahoo.com"),
    ],
)
def test_email_examples(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "no-at-sign",
        "a@b",
        "a..b@example.com",
        "a@-example.com",
        "+tag@gmail.com",
        "a@example.com@example.com",
        "a b@example.com",
        "x" * 400 + "@example.com",
    ],
)
def test_email_rejects(raw: str) -> None:
    with pytest.raises(SelectorError):
        normalize_email(raw)


def test_email_error_does_not_quote_the_value() -> None:
    with pytest.raises(SelectorError) as info:
        normalize_email("secret,value@example.com")
    assert "secret" not in str(info.value)
    assert "," not in str(info.value)


@relaxed
@given(st.emails())
def test_email_idempotent(raw: str) -> None:
    normalized = _accepted(normalize_email, raw)
    assert normalize_email(normalized) == normalized


@relaxed
@given(st.emails())
def test_email_case_insensitive(raw: str) -> None:
    normalized = _accepted(normalize_email, raw)
    assert normalize_email(raw.upper()) == normalized
    assert normalize_email(raw.swapcase()) == normalized


@relaxed
@given(
    st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,3}", fullmatch=True),
    st.from_regex(r"([a-z0-9]{1,8}(\.[a-z0-9]{1,8})?)?", fullmatch=True),
    st.sampled_from(["gmail.com", "GMail.com", "googlemail.com"]),
)
def test_gmail_aliases_share_one_mailbox(local: str, tag: str, domain: str) -> None:
    expected = local.replace(".", "") + "@gmail.com"
    assert normalize_email(f"{local}@{domain}") == expected
    assert normalize_email(f"{local}+{tag}@{domain}") == expected


# --------------------------------------------------------------------------------------------
# Phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(416) 555-0123", "CA", "+14165550123"),
        ("416.555.0123", "CA", "+14165550123"),
        ("1-416-555-0123", "ca", "+14165550123"),
        ("(202) 555-0125", "US", "+12025550125"),
        ("011 44 20 7946 0958", "US", "+442079460958"),  # North American international prefix
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("030 1234567", "DE", "+49301234567"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("00 49 30 1234567", None, "+49301234567"),
        ("0044 20 7946 0958", "US", "+442079460958"),  # "00" where the prefix is "011"
        ("0044 20 7946 0958", "DE", "+442079460958"),
        ("+1 416 555 0123", None, "+14165550123"),
        ("+1 416 555 0123", "GB", "+14165550123"),
        ("＋１ ４１６ ５５５ ０１２３", None, "+14165550123"),  # noqa: RUF001 - NFKC
    ],
)
def test_phone_examples(raw: str, region: str | None, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


def test_phone_without_country_code_or_region() -> None:
    with pytest.raises(SelectorError, match="country code") as info:
        normalize_phone("416-555-0123")
    assert "416" not in str(info.value)


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("", "CA"),
        ("hello", "CA"),
        ("+1 555", None),
        ("+999 1234567", None),
        ("123", "GB"),
        ("+1 416 555 01234567", None),
    ],
)
def test_phone_rejects(raw: str, region: str | None) -> None:
    with pytest.raises(SelectorError):
        normalize_phone(raw, region)


def test_phone_unknown_region_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="region") as info:
        normalize_phone("416-555-0123", "XX")
    assert not isinstance(info.value, SelectorError)


_NUMBER_TYPES = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]


@relaxed
@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), st.sampled_from(_NUMBER_TYPES))
def test_phone_spellings_agree(region: str, number_type: int) -> None:
    number = phonenumbers.example_number_for_type(region, number_type)
    assume(number is not None)
    assert number is not None
    assume(phonenumbers.is_valid_number(number))
    fmt = phonenumbers.PhoneNumberFormat
    e164 = phonenumbers.format_number(number, fmt.E164)
    international = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    assert E164.match(e164)
    assert normalize_phone(e164) == e164
    assert normalize_phone(international) == e164
    assert normalize_phone("00" + international[1:]) == e164
    assert normalize_phone(national, region) == e164
    assert normalize_phone(normalize_phone(national, region)) == e164


# --------------------------------------------------------------------------------------------
# Username


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@Foo_Bar", "foo_bar"),
        ("  Ｊｏｈｎ.Doe ", "john.doe"),  # noqa: RUF001 - NFKC
        ("Ömer-42", "ömer-42"),
        ("Straße", "strasse"),
        ("ИВАН", "иван"),
        ("x" * 64, "x" * 64),
    ],
)
def test_username_examples(raw: str, expected: str) -> None:
    assert normalize_username(raw) == expected


@pytest.mark.parametrize("raw", ["", "@", "   ", "a b", "x" * 65, "a!b", "a@b", "@@a", "a/b"])
def test_username_rejects(raw: str) -> None:
    with pytest.raises(SelectorError):
        normalize_username(raw)


username_like = st.text(
    st.characters(categories=["L", "M", "Nd"]) | st.sampled_from("._-@ \t"), max_size=80
)


@relaxed
@given(st.text(max_size=80) | username_like)
def test_username_idempotent(raw: str) -> None:
    try:
        normalized = normalize_username(raw)
    except SelectorError:
        return  # most random text is not a username; the valid ones are what matter here
    assert normalize_username(normalized) == normalized
    assert normalize_username("@" + normalized) == normalized


# --------------------------------------------------------------------------------------------
# IP address


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 10.0.0.1 ", "10.0.0.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::FFFF:C000:0201", "192.0.2.1"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::1", "::1"),
    ],
)
def test_ip_examples(raw: str, expected: str) -> None:
    assert normalize_ip(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1.2.3",
        "1.2.3.256",
        "010.0.0.1",
        "example.com",
        "fe80::1%eth0",
        "[fe80::1%25eth0]",
        "2001:db8::1::2",
        "[10.0.0.1",
    ],
)
def test_ip_rejects(raw: str) -> None:
    with pytest.raises(SelectorError):
        normalize_ip(raw)


@relaxed
@given(st.ip_addresses(v=4))
def test_ipv4_spellings(address: ipaddress.IPv4Address) -> None:
    expected = str(address)
    mapped = ipaddress.IPv6Address((0xFFFF << 32) | int(address))
    for spelling in (
        str(address),
        address.exploded,
        f"[{address}]",
        f"::ffff:{address}",
        mapped.exploded,
        mapped.compressed.upper(),
    ):
        assert normalize_ip(spelling) == expected
    assert normalize_ip(expected) == expected


@relaxed
@given(st.ip_addresses(v=6))
def test_ipv6_spellings(address: ipaddress.IPv6Address) -> None:
    expected = str(address.ipv4_mapped or address)
    for spelling in (
        address.compressed,
        address.exploded,
        address.exploded.upper(),
        address.compressed.upper(),
        f"[{address.exploded}]",
    ):
        assert normalize_ip(spelling) == expected
    assert normalize_ip(expected) == expected


# --------------------------------------------------------------------------------------------
# URL and domain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "http://example.com/"),
        ("example.com:8080/p", "http://example.com:8080/p"),
        ("//cdn.example.com/x.js", "http://cdn.example.com/x.js"),
        ("HTTPS://User:pw@Example.com:443/A/b?Q=1&b=2#frag", "https://example.com/A/b?Q=1&b=2"),
        ("http://example.com:80", "http://example.com/"),
        ("https://example.com:8443", "https://example.com:8443/"),
        ("ftp://ftp.example.org:21/pub", "ftp://ftp.example.org/pub"),
        ("http://a.example?x", "http://a.example/?x"),
        ("http://a.example/?b=2&a=1", "http://a.example/?b=2&a=1"),
        ("http://www.example.com./", "http://www.example.com/"),
        ("http://bücher.example/ü?ä", "http://xn--bcher-kva.example/ü?ä"),
        ("http://1.2.3.4", "http://1.2.3.4/"),
        ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("http://[::ffff:1.2.3.4]/", "http://1.2.3.4/"),
        ("http://ex_ample.com", "http://ex_ample.com/"),
    ],
)
def test_url_examples(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "mailto:x@example.com",
        "javascript:alert(1)",
        "gopher://example.com/",
        "localhost:8080",
        "http://localhost/",
        "http://999.1.1.1/",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "http://[1.2.3.4]/",
        "http://[::1/",
        "http://::1/",
        "http://-a.example/",
        "http:///path",
    ],
)
def test_url_rejects(raw: str) -> None:
    with pytest.raises(SelectorError):
        normalize_url(raw)


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("http://www.example.com/x", "example.com"),
        ("https://sub.example.co.uk/", "sub.example.co.uk"),
        ("http://xn--bcher-kva.example/", "xn--bcher-kva.example"),
        ("http://1.2.3.4/", ""),
        ("http://[2001:db8::1]/", ""),
    ],
)
def test_domain_of_url(url: str, domain: str) -> None:
    assert domain_of_url(url) == domain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("WWW.Example.com.", "example.com"),
        ("www.www.example.com", "example.com"),
        ("www.com", "www.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("Sub.Example.co.uk", "sub.example.co.uk"),
    ],
)
def test_domain_examples(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "example", "1.2.3.4", "a..b.com", "xn--zz.com", "-a.example", "a.com/x", "a b.com"]
)
def test_domain_rejects(raw: str) -> None:
    with pytest.raises(SelectorError):
        normalize_domain(raw)


@relaxed
@given(urls())
def test_url_idempotent(raw: str) -> None:
    normalized = _accepted(normalize_url, raw)
    assert normalize_url(normalized) == normalized


@relaxed
@given(
    st.sampled_from(["http", "HTTPS", "Ftp", ""]),
    domains(),
    st.sampled_from(["", ":80", ":443", ":21", ":8080"]),
    st.from_regex(r"(/[A-Za-z0-9._~%!$&'()*+,;=:@-]*)*", fullmatch=True),
    st.from_regex(r"(\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?", fullmatch=True),
)
def test_url_from_parts(scheme: str, host: str, port: str, path: str, query: str) -> None:
    raw = f"{scheme}://{host}{port}{path}{query}#fragment" if scheme else f"{host}{port}{path}"
    normalized = _accepted(normalize_url, raw)
    assert normalize_url(normalized) == normalized
    assert normalized.startswith(("http://", "https://", "ftp://"))
    assert "#" not in normalized
    assert normalize_url(raw.upper() if not path and not query else raw) == normalized
    assert domain_of_url(normalized) == normalize_domain(host)


@relaxed
@given(domains())
def test_domain_idempotent_and_case_insensitive(raw: str) -> None:
    normalized = _accepted(normalize_domain, raw)
    assert normalize_domain(normalized) == normalized
    assert normalize_domain(raw.upper() + ".") == normalized
    assert normalize_domain("www." + raw) == normalized


# --------------------------------------------------------------------------------------------
# Payment card


def _with_check_digit(payload: str) -> str:
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled once the check digit is appended
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return payload + str((10 - total % 10) % 10)


card_numbers = st.from_regex(r"[0-9]{11,18}", fullmatch=True).map(_with_check_digit)


def test_card_example() -> None:
    card = card_fingerprint("4111 1111-1111 1111", KEY)
    expected = hmac.new(KEY, VISA.encode(), hashlib.sha256).hexdigest()[:32]
    assert card == CardFingerprint(fingerprint=expected, last4="1111")
    assert card_fingerprint("4111-1111-1111-1111", KEY) == card
    assert card_fingerprint(VISA, OTHER_KEY).fingerprint != card.fingerprint


@pytest.mark.parametrize(
    "raw", ["4111111111111112", "4111 1111 111", "4111a11111111111", "", "41111111111111111111"]
)
def test_card_rejects(raw: str) -> None:
    with pytest.raises(SelectorError) as info:
        card_fingerprint(raw, KEY)
    assert "4111" not in str(info.value)


def test_card_short_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="16 bytes") as info:
        card_fingerprint(VISA, b"short")
    assert not isinstance(info.value, SelectorError)


def test_normalize_card() -> None:
    selector = normalize(SelectorKind.CARD, "4111 1111 1111 1111", card_key=KEY)
    assert selector == Selector(SelectorKind.CARD, card_fingerprint(VISA, KEY).fingerprint)
    with pytest.raises(ValueError, match="key") as info:
        normalize(SelectorKind.CARD, VISA)
    assert not isinstance(info.value, SelectorError)


@relaxed
@given(card_numbers, st.data())
def test_card_separators_do_not_matter(digits: str, data: st.DataObject) -> None:
    separators = data.draw(
        st.lists(st.sampled_from(["", " ", "-", " - "]), min_size=len(digits), max_size=len(digits))
    )
    spelled = "".join(sep + digit for sep, digit in zip(separators, digits, strict=True))
    card = card_fingerprint(spelled, KEY)
    assert card == card_fingerprint(digits, KEY)
    assert re.fullmatch(r"[0-9a-f]{32}", card.fingerprint)
    assert card.last4 == digits[-4:]
    assert digits not in repr(card)
    assert digits not in normalize(SelectorKind.CARD, spelled, card_key=KEY).key


@relaxed
@given(
    card_numbers, st.lists(st.binary(min_size=16, max_size=64), min_size=2, max_size=2, unique=True)
)
def test_card_keys_separate_fingerprints(digits: str, keys: list[bytes]) -> None:
    key, other = keys
    assert card_fingerprint(digits, key).fingerprint != card_fingerprint(digits, other).fingerprint


@relaxed
@given(card_numbers, st.integers(1, 9))
def test_card_errors_never_contain_the_number(digits: str, delta: int) -> None:
    broken = digits[:-1] + str((int(digits[-1]) + delta) % 10)
    for raw in (broken, broken + "x", broken[:11], broken + "0" * 8):
        with pytest.raises(SelectorError) as info:
            card_fingerprint(raw, KEY)
        assert broken[:8] not in str(info.value)


# --------------------------------------------------------------------------------------------
# Media hashes


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (SelectorKind.MD5, "D41D8CD98F00B204E9800998ECF8427E"),
        (SelectorKind.SHA1, " da39a3ee5e6b4b0d3255bfef95601890afd80709 "),
        (SelectorKind.PDQ, "F" * 64),
    ],
)
def test_hash_examples(kind: SelectorKind, raw: str) -> None:
    assert normalize_hash(kind, raw) == raw.strip().lower()


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (SelectorKind.MD5, "d41d8cd98f00b204e9800998ecf8427"),
        (SelectorKind.MD5, "g41d8cd98f00b204e9800998ecf8427e"),
        (SelectorKind.SHA1, "d41d8cd98f00b204e9800998ecf8427e"),
        (SelectorKind.PDQ, "0x" + "f" * 62),
        (SelectorKind.EMAIL, "d41d8cd98f00b204e9800998ecf8427e"),
    ],
)
def test_hash_rejects(kind: SelectorKind, raw: str) -> None:
    with pytest.raises(SelectorError):
        normalize_hash(kind, raw)


# --------------------------------------------------------------------------------------------
# Dispatch and error messages


@pytest.mark.parametrize("kind", [SelectorKind.EMAIL, "email", "EMAIL", " email "])
def test_normalize_accepts_kind_spellings(kind: SelectorKind | str) -> None:
    assert normalize(kind, "A@Example.com") == Selector(SelectorKind.EMAIL, "a@example.com")


def test_normalize_dispatches() -> None:
    assert normalize("phone", "(416) 555-0123", default_region="CA").key == "phone:+14165550123"
    assert normalize("username", "@Bob").key == "username:bob"
    assert normalize("ip", "::ffff:10.0.0.1").key == "ip:10.0.0.1"
    assert normalize("url", "Example.com").key == "url:http://example.com/"
    assert normalize("domain", "www.Example.com").key == "domain:example.com"
    assert normalize("sha1", "A" * 40).key == "sha1:" + "a" * 40


def test_normalize_unknown_kind() -> None:
    with pytest.raises(SelectorError, match="email, phone, username") as info:
        normalize("passport", "X1234567")
    assert "X1234567" not in str(info.value)


MARKER = "Qx7Zk"


@relaxed
@given(st.sampled_from(list(SelectorKind)), st.text(max_size=20), st.text(max_size=20))
def test_errors_never_contain_the_value(kind: SelectorKind, before: str, after: str) -> None:
    raw = before + MARKER + after
    try:
        normalize(kind, raw, default_region="CA", card_key=KEY)
    except SelectorError as exc:
        assert MARKER.lower() not in str(exc).lower()


# --------------------------------------------------------------------------------------------
# Free text


def test_extract_example() -> None:
    text = (
        "Contact John.Doe+x@GMail.com or (416) 555-0123, see https://en.wikipedia.org/wiki/Foo_(bar)"
        ". Visit www.Example.com/path. or http://10.1.2.3:8080/x; not 999.1.1.1 nor 1.2.3.4.5; "
        "@someone paid with 4111 1111 1111 1111."
    )
    assert extract_from_text(text, default_region="CA") == {
        Selector(SelectorKind.EMAIL, "johndoe@gmail.com"),
        Selector(SelectorKind.PHONE, "+14165550123"),
        Selector(SelectorKind.URL, "https://en.wikipedia.org/wiki/Foo_(bar)"),
        Selector(SelectorKind.DOMAIN, "en.wikipedia.org"),
        Selector(SelectorKind.URL, "http://www.example.com/path"),
        Selector(SelectorKind.DOMAIN, "example.com"),
        Selector(SelectorKind.URL, "http://10.1.2.3:8080/x"),
        Selector(SelectorKind.IP, "10.1.2.3"),
    }


def test_extract_national_phone_needs_region() -> None:
    assert extract_from_text("call 416-555-0123 today") == set()
    assert extract_from_text("call +44 20 7946 0958 today") == {
        Selector(SelectorKind.PHONE, "+442079460958")
    }


def test_extract_unknown_region() -> None:
    with pytest.raises(ValueError, match="region"):
        extract_from_text("text", default_region="XX")


def test_extract_scans_a_bounded_prefix() -> None:
    padding = "x " * (MAX_TEXT_LENGTH // 2)
    assert extract_from_text("a@example.com " + padding) == {
        Selector(SelectorKind.EMAIL, "a@example.com")
    }
    assert extract_from_text(padding + " a@example.com") == set()


def _assert_normalised(selectors: set[Selector]) -> None:
    for selector in selectors:
        assert normalize(selector.kind, selector.value) == selector
        assert selector.kind not in (SelectorKind.USERNAME, SelectorKind.CARD)


@relaxed
@given(st.text())
def test_extract_never_raises(text: str) -> None:
    _assert_normalised(extract_from_text(text))


_FRAGMENTS = st.sampled_from(
    [
        "@",
        ".",
        ":",
        "/",
        "//",
        "http://",
        "https://",
        "www.",
        "+",
        "00",
        "(",
        ")",
        " ",
        "\n",
        "-",
        "[",
        "]",
        "%",
        "example",
        "com",
        "GMail",
        "xn--",
        "ü",
        "255",
        "256",
        "0",
        "1",
        "416",
        "555",
        "0123",
        "+1 416 555 0123",
        "a@b.com",
        "::ffff:",
        "?",
        "#",
        ".",
    ]
)


@relaxed
@given(
    st.lists(_FRAGMENTS | st.text(max_size=5), max_size=40).map("".join),
    st.sampled_from([None, "CA", "GB", "DE", "US"]),
)
def test_extract_on_selector_like_text(text: str, region: str | None) -> None:
    _assert_normalised(extract_from_text(text, default_region=region))


# --------------------------------------------------------------------------------------------
# The quick checks in front of the full patterns pass nothing the full patterns would find


@relaxed
@given(st.lists(_FRAGMENTS | st.text(max_size=5), max_size=40).map("".join))
def test_text_the_quick_checks_pass_over_holds_no_email_or_url(text: str) -> None:
    from cets.core.selectors._text import _EMAIL_IN_TEXT, _URL_HINT, _URL_IN_TEXT

    if "@" not in text:
        assert _EMAIL_IN_TEXT.search(text) is None
    if _URL_HINT.search(text) is None:
        assert _URL_IN_TEXT.search(text) is None


_DOTTED = st.lists(
    st.sampled_from([*"0123456789..", "a", " ", "\u0661", "1.2.3.4", "255."]), max_size=30
).map("".join)


@relaxed
@given(_DOTTED | st.lists(_FRAGMENTS | _DOTTED, max_size=20).map("".join))
def test_ipv4_in_text_finds_what_the_plain_pattern_finds(text: str) -> None:
    from cets.core.selectors._text import _IPV4_IN_TEXT

    plain = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
    assert [m.span() for m in _IPV4_IN_TEXT.finditer(text)] == [
        m.span() for m in plain.finditer(text)
    ]


def test_printable_ascii_in_a_url_holds_no_whitespace_or_control_character() -> None:
    import unicodedata

    from cets.core.selectors._network import _PRINTABLE_ASCII

    passed = [chr(c) for c in range(0x80) if _PRINTABLE_ASCII.fullmatch(chr(c))]
    assert len(passed) == 94
    assert not any(c.isspace() or unicodedata.category(c) == "Cc" for c in passed)
    assert _PRINTABLE_ASCII.fullmatch("http://a b.com") is None


@relaxed
@given(st.from_regex(r"[a-z0-9._-]{1,80}", fullmatch=True))
def test_a_plain_username_passes_every_check(name: str) -> None:
    from cets.core.selectors._username import _PLAIN_USERNAME, _username_char_ok

    assert _PLAIN_USERNAME.fullmatch(name)
    assert not any(c.isspace() for c in name) and all(_username_char_ok(c) for c in name)
    if len(name) > 64:
        with pytest.raises(SelectorError, match="longer than 64"):
            normalize_username(name)
    else:
        assert normalize_username(name) == name


# --------------------------------------------------------------------------------------------
# The phone pre-check: text it passes over never holds a number the matcher would find


def test_the_fewest_digits_of_a_valid_number_matches_the_metadata() -> None:
    from phonenumbers.phonemetadata import PhoneMetadata

    from cets.core.selectors._text import _MIN_PHONE_DIGITS

    descs = [PhoneMetadata.metadata_for_region(r) for r in phonenumbers.SUPPORTED_REGIONS]
    descs += [
        PhoneMetadata.metadata_for_nongeo_region(c)
        for c in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ]
    fewest = min(
        length for m in descs if m for length in m.general_desc.possible_length if length > 0
    )
    assert fewest >= _MIN_PHONE_DIGITS


_PHONEISH = st.text(
    alphabet=st.sampled_from(
        [*"0123456789 +-./()[]x ext#abc,;:\n\t", *"\uff10\u0661\u0968\uff0b\u2013\uff08\uff09"]
    ),
    max_size=40,
)


@relaxed
@given(
    text=st.one_of(
        _PHONEISH,
        st.builds(
            lambda a, b, c: a + b + c,
            _PHONEISH,
            st.sampled_from(
                ["+1 416 555 0199", "(416) 555-0199", "+683 4002", "+290 22222", "4165550199"]
            ),
            _PHONEISH,
        ),
    ),
    region=st.sampled_from(["CA", "US", "DE", "NU", "AR", "GB", "AU", "SM", "JP", "FR", None]),
)
def test_text_the_phone_pre_check_passes_over_holds_no_number(
    text: str, region: str | None
) -> None:
    from cets.core.selectors._text import _may_hold_a_phone

    matcher = phonenumbers.PhoneNumberMatcher(
        text, region or phonenumbers.UNKNOWN_REGION, leniency=phonenumbers.Leniency.VALID
    )
    if not _may_hold_a_phone(text, region):
        assert list(matcher) == []


def _example_numbers() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    """Every region's example number of every type, with its region."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(phonenumbers.PhoneNumberType.VOICEMAIL + 1):  # all but UNKNOWN
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append((region, number))
    return found


def test_every_example_number_written_without_a_plus_passes_the_phone_pre_check() -> None:
    """The bound on the digits of a number written without a plus sign, against
    libphonenumber's own examples: each region's numbers in its national format (and those of
    the regions sharing its country code), and the shortest numbers of all in the format
    dialled from abroad (after the international prefix), read with every default region."""
    from cets.core.selectors._text import _may_hold_a_phone

    examples = _example_numbers()
    shortest = sorted(examples, key=lambda e: len(phonenumbers.national_significant_number(e[1])))
    national = phonenumbers.PhoneNumberFormat.NATIONAL
    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        code = phonenumbers.country_code_for_region(region)
        written = [
            phonenumbers.format_number(number, national)
            for _, number in examples
            if number.country_code == code
        ]
        written += [
            phonenumbers.format_out_of_country_calling_number(number, region)
            for _, number in shortest[:40]
        ]
        for text in written:
            if any(plus in text for plus in "+\uff0b"):
                continue
            sentence = f"call {text} today"
            matcher = phonenumbers.PhoneNumberMatcher(
                sentence, region, leniency=phonenumbers.Leniency.VALID
            )
            if list(matcher):
                checked += 1
                assert _may_hold_a_phone(sentence, region), (region, text)
    assert checked > 2000  # the examples were read as numbers, so the test tests something


def test_the_phone_pre_check_passes_over_short_digit_runs_only_where_no_number_fits() -> None:
    from cets.core.selectors._text import _may_hold_a_phone

    assert not _may_hold_a_phone("user stormy9179 at 9272 Eric Junctions", "CA")
    assert not _may_hold_a_phone("call 4165550199 today", None)  # no region: needs a plus
    assert _may_hold_a_phone("call +1 416 555 0199 today", None)
    assert _may_hold_a_phone("call 416 555 0199 today", "CA")
    assert _may_hold_a_phone("call 011 44 20 7946 0958", "CA")
    assert _may_hold_a_phone("ring 1234", "DE")  # German numbers may have four digits


# --------------------------------------------------------------------------------------------
# The matcher that remembers its verdicts finds exactly what libphonenumber's own finds


def _matches(matcher: phonenumbers.PhoneNumberMatcher) -> list[tuple[int, str, str]]:
    e164 = phonenumbers.PhoneNumberFormat.E164
    return [(m.start, m.raw_string, phonenumbers.format_number(m.number, e164)) for m in matcher]


@relaxed
@given(
    text=st.builds(
        lambda a, b, c, d: a + b + c + d + b,
        _PHONEISH,
        st.sampled_from(["+1 416 555 0199", "(416) 555-0199", "4165550199", "+44 20 7946 0958"]),
        st.sampled_from(["", "a", "x", "1", " ", "(", "/", "#"]),
        _PHONEISH,
    ),
    region=st.sampled_from(["CA", "GB", "NU", None]),
)
def test_the_remembering_matcher_agrees_with_libphonenumber(text: str, region: str | None) -> None:
    from cets.core.selectors._text import _Matcher

    region = region or phonenumbers.UNKNOWN_REGION
    plain = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    assert _matches(_Matcher(text, region)) == _matches(_Matcher(text, region)) == _matches(plain)


def test_a_remembered_verdict_depends_on_the_characters_around_the_candidate() -> None:
    from cets.core.selectors._text import _verified

    phone = {Selector(SelectorKind.PHONE, "+14165550199")}
    before = _verified.cache_info().hits
    for _ in range(2):
        assert extract_from_text("call 4165550199 now", default_region="CA") == phone
        assert extract_from_text("ref x4165550199 now", default_region="CA") == set()
        assert extract_from_text("4165550199y", default_region="CA") == set()
        assert extract_from_text("4165550199", default_region="CA") == phone
    assert _verified.cache_info().hits > before  # the matcher asks the memo, not only its own


# --------------------------------------------------------------------------------------------
# The card pre-check: text it passes over holds nothing the card pattern finds


@relaxed
@given(
    text=st.one_of(
        st.text(alphabet=st.sampled_from([*"0123456789 --ab\n.\u0661"]), max_size=48),
        st.builds(
            lambda a, b, c: a + b + c,
            st.text(alphabet=st.sampled_from([*"0123456789 -x"]), max_size=12),
            st.sampled_from(["4111111111111111", "4111 1111 1111 1111", "3782-822463-10005"]),
            st.text(alphabet=st.sampled_from([*"0123456789 -x"]), max_size=12),
        ),
    )
)
def test_text_the_card_pre_check_passes_over_holds_no_card_number(text: str) -> None:
    from cets.core.selectors._card import _CARD_DIGITS, _CARD_IN_TEXT

    if _CARD_DIGITS.search(text) is None:
        assert _CARD_IN_TEXT.search(text) is None


@example(text="256.1.1.1")
@example(text="1.2.3.256")
@example(text="01.2.3.4")
@example(text=" 1.2.3.4 ")
@example(text="\u0661.2.3.4")
@example(text="1.2.3")
@example(text="255.255.255.255")
@example(text="0.0.0.0")
@relaxed
@given(
    text=st.one_of(
        st.lists(
            st.sampled_from([*"0123456789.", "00", "25", "255", "256", " ", "\u0661"]),
            max_size=12,
        ).map("".join),
        st.ip_addresses(v=4).map(str),
    )
)
def test_the_ipv4_fast_path_agrees_with_the_parser(text: str) -> None:
    from cets.core.selectors._network import _ip

    try:
        expected: str | None = str(_ip(text))
    except SelectorError:
        expected = None
    try:
        assert normalize_ip(text) == expected
    except SelectorError:
        assert expected is None
