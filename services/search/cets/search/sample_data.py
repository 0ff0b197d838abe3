"""Synthetic investigations: realistic sample records for demos, load tests and tests.

Each agency's records come as a stream of *cases*: a few suspects, the children they
contacted and the officer on the file, and 8 to 40 records about them — tips, chat
messages, online identities, subscriber returns, card transactions, case notes, arrests —
that share the cast's names, handles, phone numbers, e-mail addresses, IPs and cards.

On top of that, :func:`plan_links` plants *cross-agency links*: suspects who appear at two
or more agencies, each time under a different spelling of the same identifiers (a Gmail
address with and without dots and a ``+tag``, a handle in another case, a phone number in
national and in international format, the same card with spaces or dashes, the name spelled
differently). The :class:`LinkPlan` is the ground truth: the normalised selector keys every
planted suspect shares across agencies, and the ids of the records that carry them.

Output is reproducible: every random choice comes from :class:`random.Random` instances
seeded from the caller's seed, so the same arguments give byte-identical records. Faker is
called only once per agency, to fill pools of names and streets; records draw from them.

Nothing generated belongs to anyone on purpose: card numbers come from issuers' test
ranges, IPv4 addresses from the shared address space 100.64.0.0/10, IPv6 addresses from the
documentation prefix 2001:db8::/32, and file-hosting and merchant sites from the reserved
``.example`` domain. Ordinary records of different agencies never share an identifier by
chance (each agency draws numbers from its own residue class), so the planted links are the
only cross-agency links, apart from the domains of the file-hosting sites everyone uses.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import string
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import phonenumbers
from faker import Faker

from cets.search.records import RecordType
from cets.search.selectors import normalize

__all__ = [
    "DEMO_AGENCIES",
    "MAX_TOTAL",
    "MIN_TOTAL",
    "LinkPlan",
    "PlantedAppearance",
    "PlantedIdentity",
    "SampleAgency",
    "SampleManifest",
    "iter_records",
    "plan_links",
    "write_sample",
]

Record = dict[str, Any]


@dataclass(frozen=True)
class SampleAgency:
    """An agency to generate records for."""

    id: str
    name: str
    region: str
    """ISO 3166 country code: phone numbers, currency and wording follow it."""
    locale: str
    """Faker locale for names and street addresses, e.g. ``"en_CA"``."""


DEMO_AGENCIES: Final[tuple[SampleAgency, ...]] = (
    SampleAgency("tps", "Toronto Police Service", "CA", "en_CA"),
    SampleAgency("rcmp", "Royal Canadian Mounted Police", "CA", "en_CA"),
    SampleAgency("nca", "National Crime Agency", "GB", "en_GB"),
    SampleAgency("afp", "Australian Federal Police", "AU", "en_AU"),
)
"""Agencies of the demo; it uses the first three unless told otherwise."""

MIN_TOTAL: Final = 1_000
MAX_TOTAL: Final = 1_000_000

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    """What differs between countries: numbers, money, institutions and legal wording."""

    currency: str
    nationality: str
    cities: tuple[str, ...]
    phone_prefixes: tuple[str, ...]
    """Leading digits of national significant numbers to draw from (repeats weigh more)."""
    phone_digits: int
    email_domains: tuple[str, ...]
    carriers: tuple[str, ...]
    issuers: tuple[str, ...]
    charges: tuple[str, ...]
    tip_sources: tuple[str, ...]
    ranks: tuple[str, ...]
    data_order: str


_CA_CHARGES: Final = (
    "Possession of child sexual abuse material",
    "Accessing child sexual abuse material",
    "Making available child sexual abuse material",
    "Distribution of child sexual abuse material",
    "Luring a child",
    "Agreement or arrangement to commit a sexual offence against a child",
    "Failure to comply with a release order",
)
_STYLES: Final[dict[str, _Style]] = {
    "CA": _Style(
        currency="CAD",
        nationality="Canadian",
        cities=(
            "Toronto, ON",
            "Scarborough, ON",
            "North York, ON",
            "Etobicoke, ON",
            "Mississauga, ON",
            "Brampton, ON",
            "Ottawa, ON",
            "Hamilton, ON",
            "Winnipeg, MB",
            "Regina, SK",
            "Calgary, AB",
            "Edmonton, AB",
            "Surrey, BC",
            "Vancouver, BC",
            "Halifax, NS",
            "Moncton, NB",
        ),
        phone_prefixes=(
            "416",
            "416",
            "647",
            "647",
            "437",
            "905",
            "289",
            "613",
            "514",
            "204",
            "306",
            "403",
            "587",
            "780",
            "604",
            "778",
            "902",
            "506",
        ),
        phone_digits=10,
        email_domains=(
            "gmail.com",
            "gmail.com",
            "outlook.com",
            "hotmail.com",
            "yahoo.ca",
            "icloud.com",
            "protonmail.com",
        ),
        carriers=("Rogers", "Bell", "Telus", "Freedom Mobile", "Fido", "Koodo", "Videotron"),
        issuers=("RBC Royal Bank", "TD Canada Trust", "Scotiabank", "BMO", "CIBC", "Desjardins"),
        charges=_CA_CHARGES,
        tip_sources=(
            "NCMEC CyberTipline via NCECC",
            "Cybertip.ca",
            "ESP direct report",
            "Crime Stoppers",
            "Public complaint",
        ),
        ranks=("Det. Cst.", "Det.", "Cst.", "Sgt.", "Cpl."),
        data_order="Production order",
    ),
    "GB": _Style(
        currency="GBP",
        nationality="British",
        cities=(
            "London",
            "Manchester",
            "Birmingham",
            "Leeds",
            "Glasgow",
            "Liverpool",
            "Bristol",
            "Sheffield",
            "Cardiff",
            "Newcastle upon Tyne",
            "Nottingham",
        ),
        phone_prefixes=("7", "7", "7", "7", "20", "161", "121", "113", "141", "117"),
        phone_digits=10,
        email_domains=(
            "gmail.com",
            "gmail.com",
            "outlook.com",
            "hotmail.com",
            "yahoo.co.uk",
            "btinternet.com",
            "icloud.com",
            "protonmail.com",
        ),
        carriers=("EE", "Vodafone UK", "O2", "Three", "Sky Mobile", "giffgaff"),
        issuers=("Barclays", "HSBC UK", "Lloyds Bank", "NatWest", "Monzo", "Nationwide"),
        charges=(
            "Possession of indecent images of children",
            "Making indecent images of children",
            "Distribution of indecent images of children",
            "Sexual communication with a child",
            "Arranging or facilitating a child sex offence",
            "Breach of a sexual harm prevention order",
        ),
        tip_sources=(
            "NCMEC CyberTipline",
            "CEOP Safety Centre",
            "ESP direct report",
            "Crimestoppers",
            "Public complaint",
        ),
        ranks=("NCA Officer", "DC", "DS", "DI"),
        data_order="Communications data request",
    ),
    "AU": _Style(
        currency="AUD",
        nationality="Australian",
        cities=(
            "Sydney, NSW",
            "Parramatta, NSW",
            "Melbourne, VIC",
            "Geelong, VIC",
            "Brisbane, QLD",
            "Gold Coast, QLD",
            "Perth, WA",
            "Adelaide, SA",
            "Canberra, ACT",
            "Hobart, TAS",
            "Darwin, NT",
        ),
        phone_prefixes=("4", "4", "4", "4", "2", "3", "7", "8"),
        phone_digits=9,
        email_domains=(
            "gmail.com",
            "gmail.com",
            "outlook.com",
            "hotmail.com",
            "bigpond.com",
            "icloud.com",
            "protonmail.com",
        ),
        carriers=("Telstra", "Optus", "Vodafone AU", "TPG", "Boost Mobile"),
        issuers=("Commonwealth Bank", "Westpac", "ANZ", "NAB", "ING Australia"),
        charges=(
            "Using a carriage service to access child abuse material",
            "Possessing child abuse material obtained using a carriage service",
            "Using a carriage service to transmit child abuse material",
            "Using a carriage service to groom a person under 16",
            "Using a carriage service to procure a person under 16",
        ),
        tip_sources=(
            "NCMEC CyberTipline via ACCCE",
            "ACCCE online report",
            "ESP direct report",
            "Crime Stoppers",
            "Public complaint",
        ),
        ranks=("Federal Agent", "Det. Sgt.", "Sen. Const.", "Det."),
        data_order="Telecommunications data authorisation",
    ),
}

_PLATFORMS: Final = ("Snapchat", "Instagram", "Discord", "Kik", "TikTok", "Roblox", "WhatsApp")
_PRIVATE_APPS: Final = ("Telegram", "Signal", "Session", "Kik", "WhatsApp", "Threema")
_ESPS: Final = (
    "Meta",
    "Google",
    "Snap Inc.",
    "Discord",
    "Microsoft",
    "Dropbox",
    "TikTok",
    "Roblox",
    "Kik",
)
_FILE_HOSTS: Final = (
    "dropvault.example",
    "filecrate.example",
    "sharebin.example",
    "quickupload.example",
    "cloudstash.example",
)
_MERCHANTS: Final = (
    ("ByteDrop Premium", "bytedrop.example"),
    ("CloudStash Storage", "cloudstash.example"),
    ("HushNet VPN", "hushnet.example"),
    ("Tunnelr VPN", "tunnelr.example"),
    ("GiftHub Digital Cards", "gifthub.example"),
    ("Pixelcoin Exchange", "pixelcoin.example"),
    ("GameGems Store", "gamegems.example"),
)
_PLACES: Final = (
    "the bus terminal",
    "the food court at the mall",
    "the public library",
    "the skate park",
    "the arcade",
    "the coffee shop by the station",
)
_DAYS: Final = ("Friday", "Saturday", "Sunday", "after school", "the weekend")
_DEVICES: Final = (
    "a laptop and two phones",
    "a desktop tower and an external drive",
    "one phone and a tablet",
    "three USB drives and a laptop",
    "two phones",
)
_ADJECTIVES: Final = (
    "Dark",
    "Silent",
    "Lone",
    "Night",
    "Chill",
    "Wild",
    "Lost",
    "Shadow",
    "Lucky",
    "Frosty",
    "Hidden",
    "Mellow",
    "Rusty",
    "Swift",
    "Quiet",
    "Cosmic",
    "Stormy",
    "Midnight",
)
_NOUNS: Final = (
    "Angel",
    "Wolf",
    "Rider",
    "Gamer",
    "Coach",
    "Fox",
    "Hawk",
    "Ghost",
    "King",
    "Raven",
    "Pilot",
    "Ranger",
    "Viper",
    "Drifter",
    "Nomad",
    "Falcon",
    "Mentor",
)
_KID_WORDS: Final = (
    "sparkle",
    "pixie",
    "soccer",
    "gamer",
    "skater",
    "unicorn",
    "kitty",
    "dancer",
    "bunny",
    "star",
    "cupcake",
    "hockey",
    "panda",
    "blossom",
    "sunny",
)

_GROOMER_LINES: Final = (
    "this app is way too public. add me on {app}, same name {handle}",
    "can we move to {app}? it deletes the chats automatically",
    "how old are you? you seem really mature for your age",
    "where do you live? i'm not far from {city}",
    "i put the folder here {url} the password is {password}",
    "grab it from {url} before the link expires",
    "text me instead, {phone}",
    "email me at {email} and i'll send you the link",
    "don't tell your parents we talk ok? they wouldn't understand",
    "we should meet up. i can pick you up at {place} on {day}",
    "delete this chat after you read it",
    "did the gift card work? i can send you another one",
    "my old account got banned, this is my new one",
)
_CHILD_LINES: Final = (
    "im {age}",
    "idk my mom checks my phone",
    "ok",
    "whats {app}?",
    "where is that",
    "i cant on {day}",
    "who is this?",
    "ok i added you",
)
_TRADER_LINES: Final = (
    "new folder is up {url}",
    "use the vpn before you open anything",
    "the old group got deleted, new invite is {url}",
    "message me on {app} from now on, this place is watched",
    "send it to {email}, not here",
)
_TIP_TEXTS: Final = (
    "CyberTipline report {tipno}: ESP {esp} reported account {handle} (registration e-mail "
    "{email}) uploaded {n} files flagged by hash match. Upload IP {ip} at {when} UTC.",
    "ESP {esp} reported user {handle} for sending {n} messages to an account whose user "
    "states they are {age}, asking to continue the conversation on {app}. Login IP {ip}; "
    "verified e-mail {email}.",
    "A parent reports that an adult using {handle} on {platform} asked their {age}-year-old "
    "for their address and phone number and proposed meeting at {place}.",
    "ESP {esp} reported a shared link {url} holding {n} files that match known hashes. The "
    "link was created by {email} from IP {ip}.",
    "Referral: the subscriber of {phone} is linked to account {handle}, suspected of trading "
    "child sexual abuse material. Last seen from IP {ip}.",
)
_NOTE_TEXTS: Final = (
    "{order} returned subscriber info for IP {ip}: {name}, {address}.",
    "{order} served on {carrier} for {phone}; subscriber is {name}.",
    "Preservation request sent to {esp} for account {handle} and associated e-mail {email}.",
    "Undercover officer engaged {handle} on {platform}; subject asked the officer's age, then "
    "asked to move the conversation to {app}.",
    "Search warrant executed at {address}. Seized {devices}; exhibits sent to digital forensics.",
    "Forensic extraction completed: {n} files matched known hashes; chat logs with {victim} "
    "recovered.",
    "Spoke with the complainant's parent. Child ({age}) confirms contact with {handle} since "
    "{month}.",
    "Card ending {last4} traced to {name}; recurring payments to {merchant}.",
    "Deconfliction request sent to partner agencies for {email} and {phone}.",
    "File-hosting link {url} preserved; takedown request sent to the host.",
)
_ARREST_TEXTS: Final = (
    "Arrested at {address} on execution of a search warrant. Seized {devices}.",
    "Arrested without incident at {place} in {city} after arranging to meet an undercover "
    "officer. Seized {devices}.",
    "Surrendered by appointment. {devices} previously seized under warrant.",
)
_SUSPECT_NOTES: Final = (
    "Suspect identified from {esp} return.",
    "Subscriber of the IP used to upload flagged files.",
    "Holder of the card used for file-hosting subscriptions.",
    "Previously convicted; conditions restrict internet use.",
    "Registered owner of accounts named in the tip.",
)
_OTHER_NOTES: Final = (
    "Parent of the complainant; reported the contact.",
    "Roommate of the suspect; interviewed as a witness.",
    "Relative of the suspect; shares the residence.",
    "Account holder of the home internet service.",
    "Teacher who first raised concerns.",
)
_TXN_NOTES: Final = (
    "Recurring monthly subscription.",
    "Prepaid gift card purchase.",
    "In-game currency sent to another account.",
    "Storage plan upgrade.",
    "Payment flagged by the acquirer for review.",
    "Annual VPN plan.",
)
_MEDIA_NOTES: Final = (
    "Hash reported by {esp}; matches the national known-hash database.",
    "Recovered from a seized device; hash match, category withheld.",
    "Attached to a CyberTipline report; not viewed by the ESP.",
)

# Spelling variants that sound alike (equal metaphone keys), for names of planted suspects.
_FIRST_VARIANTS: Final = (
    ("John", "Jon"),
    ("Steven", "Stephen"),
    ("Michael", "Micheal"),
    ("Geoffrey", "Jeffrey"),
    ("Matthew", "Mathew"),
    ("Alan", "Allan", "Allen"),
    ("Neil", "Neal"),
    ("Eric", "Erik"),
    ("Philip", "Phillip"),
    ("Carl", "Karl"),
    ("Mark", "Marc"),
    ("Ian", "Iain"),
    ("Gary", "Garry"),
    ("Shane", "Shayne"),
    ("Derek", "Derrick"),
)
_LAST_VARIANTS: Final = (
    ("Smith", "Smyth"),
    ("Reid", "Reed", "Read"),
    ("Clark", "Clarke"),
    ("MacDonald", "McDonald"),
    ("Anderson", "Andersen"),
    ("Phillips", "Philips"),
    ("Gray", "Grey"),
    ("Nielsen", "Nielson"),
    ("Petersen", "Peterson"),
    ("McKenzie", "Mackenzie"),
    ("Hansen", "Hanson"),
    ("Byrne", "Burne"),
    ("Matthews", "Mathews"),
    ("Johnston", "Johnstone"),
    ("Davis", "Davies"),
    ("Wallace", "Wallis"),
)

# ---------------------------------------------------------------------------------------------
# Record types: mix, id slugs, and the order in which an investigation produces them
# ---------------------------------------------------------------------------------------------

_MIX: Final[dict[RecordType, int]] = {
    RecordType.PERSON: 15,
    RecordType.ONLINE_IDENTITY: 15,
    RecordType.PHONE: 5,
    RecordType.PAYMENT_CARD: 3,
    RecordType.CARD_TRANSACTION: 15,
    RecordType.CHAT_MESSAGE: 25,
    RecordType.ARREST: 4,
    RecordType.CASE_NOTE: 8,
    RecordType.TIP: 8,
    RecordType.MEDIA_HASH: 2,
}
_TYPES: Final = tuple(_MIX)
_CUM_WEIGHTS: Final = tuple(sum(tuple(_MIX.values())[: i + 1]) for i in range(len(_MIX)))
_SLUGS: Final[dict[RecordType, str]] = {
    RecordType.PERSON: "person",
    RecordType.ONLINE_IDENTITY: "ident",
    RecordType.PHONE: "phone",
    RecordType.PAYMENT_CARD: "card",
    RecordType.CARD_TRANSACTION: "txn",
    RecordType.CHAT_MESSAGE: "chat",
    RecordType.ARREST: "arrest",
    RecordType.CASE_NOTE: "note",
    RecordType.TIP: "tip",
    RecordType.MEDIA_HASH: "media",
}
_STAGE: Final[dict[RecordType, int]] = {
    RecordType.TIP: 0,
    RecordType.MEDIA_HASH: 1,
    RecordType.CHAT_MESSAGE: 2,
    RecordType.ONLINE_IDENTITY: 3,
    RecordType.PHONE: 4,
    RecordType.PAYMENT_CARD: 5,
    RecordType.CARD_TRANSACTION: 5,
    RecordType.PERSON: 6,
    RecordType.CASE_NOTE: 7,
    RecordType.ARREST: 8,
}
_SOURCES: Final[dict[RecordType, tuple[str, ...]]] = {
    RecordType.PERSON: ("rms", "cpic", "esp-return"),
    RecordType.ONLINE_IDENTITY: ("esp-return",),
    RecordType.PHONE: ("production-order",),
    RecordType.PAYMENT_CARD: ("production-order",),
    RecordType.CARD_TRANSACTION: ("production-order", "acquirer-report"),
    RecordType.CHAT_MESSAGE: ("forensic-extraction", "esp-return", "undercover"),
    RecordType.ARREST: ("rms",),
    RecordType.CASE_NOTE: ("rms",),
    RecordType.TIP: ("tipline",),
    RecordType.MEDIA_HASH: ("hash-db", "forensic-extraction"),
}
_HANDLING: Final = ("amber", "green", "red", "amber+strict")
_HANDLING_CUM: Final = (78, 88, 93, 100)
_FIRST_DAY: Final = datetime(2023, 1, 20)
_CASE_START_DAYS: Final = (datetime(2026, 9, 1) - _FIRST_DAY).days
_CASE_SPAN_SECONDS: Final = 90 * 24 * 3600

# ---------------------------------------------------------------------------------------------
# Seeds and identifiers
# ---------------------------------------------------------------------------------------------

_RESIDUE: Final = 97
_PLANTED_SLOT: Final = 0
_CGNAT_FIRST: Final = 100 << 24 | 64 << 16  # 100.64.0.0/10, the shared address space
_DOC_IPV6: Final = 0x20010DB8 << 96  # 2001:db8::/32, the documentation prefix
_TEST_BINS: Final = ("400000", "411111", "424242", "555555", "510510", "222300")
_TOKEN_CHARS: Final = string.ascii_letters + string.digits


def _seed(*parts: object) -> int:
    """A 64-bit seed derived from ``parts`` (stable across runs, unlike ``hash()``)."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _rng(*parts: object) -> random.Random:
    """A generator seeded from ``parts``; sample data needs reproducibility, not secrecy."""
    return random.Random(_seed(*parts))  # noqa: S311


def _slot(agency_id: str) -> int:
    """The agency's residue class: its random numbers never equal another agency's."""
    return 1 + _seed("slot", agency_id) % (_RESIDUE - 1)


def _in_class(rng: random.Random, low: int, high: int, slot: int) -> int:
    """A random integer in ``[low, high)`` that is ``slot`` modulo the residue."""
    first = low + (slot - low) % _RESIDUE
    return first + _RESIDUE * rng.randrange((high - first + _RESIDUE - 1) // _RESIDUE)


def _style(region: str) -> _Style:
    """The style of a country; others get Canadian wording with their own phone numbers."""
    style = _STYLES.get(region)
    if style is not None:
        return style
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError("unknown region; expected an ISO 3166 code such as 'CA'")
    nsn = phonenumbers.national_significant_number(example)
    return replace(
        _STYLES["CA"],
        phone_prefixes=(nsn[:2],),
        phone_digits=len(nsn),
        currency="USD",
        nationality=region,
    )


def _phone_number(rng: random.Random, region: str, slot: int) -> phonenumbers.PhoneNumber:
    """A random phone number that is valid in ``region``."""
    style = _style(region)
    country_code = phonenumbers.country_code_for_region(region)
    while True:
        prefix = rng.choice(style.phone_prefixes)
        span = 10 ** (style.phone_digits - len(prefix))
        nsn = _in_class(rng, int(prefix) * span, (int(prefix) + 1) * span, slot)
        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=nsn)
        if phonenumbers.is_valid_number_for_region(number, region):
            return number


def _written_phone(rng: random.Random, number: phonenumbers.PhoneNumber) -> str:
    """The number as people write it at home: mostly national format."""
    roll = rng.random()
    fmt = phonenumbers.PhoneNumberFormat
    if roll < 0.6:
        return phonenumbers.format_number(number, fmt.NATIONAL)
    if roll < 0.8:
        return phonenumbers.format_number(number, fmt.INTERNATIONAL)
    if roll < 0.9:
        return phonenumbers.format_number(number, fmt.E164)
    return re.sub(r"\D", "", phonenumbers.format_number(number, fmt.NATIONAL))


def _ipv4(rng: random.Random, slot: int) -> str:
    """An address in the shared address space, not ending in .0 or .255."""
    while True:
        n = _in_class(rng, _CGNAT_FIRST, _CGNAT_FIRST + (1 << 22), slot)
        if 0 < n & 0xFF < 0xFF:
            return f"{n >> 24}.{n >> 16 & 0xFF}.{n >> 8 & 0xFF}.{n & 0xFF}"


def _ipv6(rng: random.Random) -> str:
    groups = f"{_DOC_IPV6 | rng.getrandbits(96):032x}"
    return ":".join(groups[i : i + 4].lstrip("0") or "0" for i in range(0, 32, 4))


def _luhn_digit(partial: str) -> str:
    """The check digit that makes ``partial`` + digit pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(partial)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str(-total % 10)


def _card_number(rng: random.Random, slot: int) -> str:
    """A 16-digit, Luhn-valid number in an issuer's test range."""
    body = rng.choice(_TEST_BINS) + f"{_in_class(rng, 0, 10**9, slot):09d}"
    return body + _luhn_digit(body)


def _written_card(digits: str, style: str) -> str:
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return {"spaced": " ".join(groups), "dashed": "-".join(groups)}.get(style, digits)


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_TOKEN_CHARS, k=length))


def _file_url(rng: random.Random) -> str:
    host = rng.choice(_FILE_HOSTS)
    return f"https://{host}/{rng.choice('fds')}/{_token(rng, 10)}"


def _slug(text: str) -> str:
    """Lowercase ASCII letters and digits of ``text``, for e-mail addresses and handles."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in ascii_text.lower() if char.isalnum()) or "user"


def _handle(rng: random.Random, first: str, last: str, number: int) -> str:
    adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
    style = rng.randrange(4)
    if style == 0:
        return f"{adjective}{noun}_{number}"
    if style == 1:
        return f"{adjective.lower()}.{noun.lower()}{number}"
    if style == 2:
        return f"{_slug(first)[0]}{_slug(last)}{number}"
    return f"{noun.lower()}_{adjective.lower()}{number}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


# ---------------------------------------------------------------------------------------------
# Planted links
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantedAppearance:
    """How one planted suspect is written at one agency, and the records that carry it."""

    agency_id: str
    name: str
    email: str
    username: str
    phone: str
    ip: str
    card: str | None = field(repr=False)
    """The card number as written here; never part of the manifest."""
    card_format: str | None
    record_types: tuple[RecordType, ...]
    record_ids: tuple[str, ...]


@dataclass(frozen=True)
class PlantedIdentity:
    """A suspect known to several agencies under different spellings of one identity."""

    link_id: str
    date_of_birth: date
    selectors: tuple[str, ...]
    """Normalised selector keys that every appearance carries (the card is separate)."""
    card_last4: str | None
    appearances: tuple[PlantedAppearance, ...]

    @property
    def agencies(self) -> tuple[str, ...]:
        return tuple(appearance.agency_id for appearance in self.appearances)


@dataclass(frozen=True)
class LinkPlan:
    """The cross-agency links to plant, and the ground truth for finding them."""

    seed: int
    identities: tuple[PlantedIdentity, ...]

    def appearances_at(self, agency_id: str) -> list[tuple[PlantedIdentity, PlantedAppearance]]:
        """The planted suspects an agency holds, in plan order."""
        return [
            (identity, appearance)
            for identity in self.identities
            for appearance in identity.appearances
            if appearance.agency_id == agency_id
        ]

    def planted_count(self, agency_id: str) -> int:
        """How many of an agency's records are planted."""
        return sum(len(a.record_ids) for _, a in self.appearances_at(agency_id))

    def to_dict(self) -> dict[str, Any]:
        """The manifest: everything but the card numbers themselves."""
        return {"seed": self.seed, "links": [_identity_json(i) for i in self.identities]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def _identity_json(identity: PlantedIdentity) -> dict[str, Any]:
    return {
        "id": identity.link_id,
        "date_of_birth": identity.date_of_birth.isoformat(),
        "selectors": list(identity.selectors),
        "card_last4": identity.card_last4,
        "agencies": {
            a.agency_id: {
                "name": a.name,
                "email": a.email,
                "username": a.username,
                "phone": a.phone,
                "ip": a.ip,
                "card_format": a.card_format,
                "records": list(a.record_ids),
            }
            for a in identity.appearances
        },
    }


def plan_links(agencies: Sequence[SampleAgency], *, seed: int, count: int) -> LinkPlan:
    """Plan ``count`` suspects, each appearing at two or more of ``agencies``.

    Planted records take the first record numbers of each agency (``<agency>-<type>-0000000``
    on), in plan order; :func:`iter_records` spreads them through the agency's stream.

    Raises:
        ValueError: a negative count, duplicate agency ids, or links with fewer than two
            agencies.
    """
    if count < 0:
        raise ValueError("the number of links must not be negative")
    if len({agency.id for agency in agencies}) != len(agencies):
        raise ValueError("agency ids must be distinct")
    if count and len(agencies) < 2:
        raise ValueError("planting cross-agency links needs at least two agencies")
    rng = _rng(seed, "links")
    next_number = {agency.id: 0 for agency in agencies}
    taken: set[str] = set()
    identities = []
    for index in range(count):
        identity = _plan_identity(rng, index, agencies, next_number, taken)
        taken.update(identity.selectors)
        identities.append(identity)
    return LinkPlan(seed=seed, identities=tuple(identities))


def _plan_identity(
    rng: random.Random,
    index: int,
    agencies: Sequence[SampleAgency],
    next_number: dict[str, int],
    taken: set[str],
) -> PlantedIdentity:
    size = 2 if len(agencies) == 2 or rng.random() < 0.6 else rng.randint(3, len(agencies))
    where = [agencies[i] for i in sorted(rng.sample(range(len(agencies)), size))]
    firsts, lasts = rng.choice(_FIRST_VARIANTS), rng.choice(_LAST_VARIANTS)
    while True:  # identifiers no other planted suspect has
        number = _in_class(rng, 100, 10_000, _PLANTED_SLOT)
        emails = _email_forms(rng, firsts[0], lasts[0], number)
        handles = _handle_forms(_handle(rng, firsts[0], lasts[0], number))
        rng.shuffle(handles)
        email_key = normalize("email", emails[0]).key
        username_key = normalize("username", handles[0]).key
        if email_key not in taken and username_key not in taken:
            break
    home = rng.choice(where).region
    phone = _phone_number(rng, home, _PLANTED_SLOT)
    e164 = phonenumbers.format_number(phone, phonenumbers.PhoneNumberFormat.E164)
    while f"phone:{e164}" in taken:
        phone = _phone_number(rng, home, _PLANTED_SLOT)
        e164 = phonenumbers.format_number(phone, phonenumbers.PhoneNumberFormat.E164)
    ip = _ipv4(rng, _PLANTED_SLOT)
    while f"ip:{ip}" in taken:
        ip = _ipv4(rng, _PLANTED_SLOT)
    card = _card_number(rng, _PLANTED_SLOT) if index % 4 != 3 else None
    card_formats = rng.sample(["spaced", "dashed", "plain"], 3)
    phone_forms: list[str] = []
    appearances = []
    for j, agency in enumerate(where):
        phone_forms.append(_phone_form(phone, agency.region, phone_forms))
        first, last = _name_variant(firsts, lasts, j)
        types = _planted_types(rng, has_card=card is not None)
        start = next_number[agency.id]
        next_number[agency.id] += len(types)
        card_format = card_formats[j % 3] if card else None
        appearances.append(
            PlantedAppearance(
                agency_id=agency.id,
                name=f"{first} {last}",
                email=emails[j % len(emails)],
                username=handles[j % len(handles)],
                phone=phone_forms[-1],
                ip=ip,
                card=_written_card(card, card_format or "") if card else None,
                card_format=card_format,
                record_types=types,
                record_ids=tuple(
                    f"{agency.id}-{_SLUGS[t]}-{start + k:07d}" for k, t in enumerate(types)
                ),
            )
        )
    born = date(1962, 1, 1) + timedelta(days=rng.randrange(40 * 365))
    return PlantedIdentity(
        link_id=f"link-{index + 1:04d}",
        date_of_birth=born,
        selectors=(email_key, f"ip:{ip}", f"phone:{e164}", username_key),
        card_last4=card[-4:] if card else None,
        appearances=tuple(appearances),
    )


def _email_forms(rng: random.Random, first: str, last: str, number: int) -> list[str]:
    """Spellings of one mailbox that the e-mail normaliser folds together, shuffled."""
    f, l_ = first.lower(), last.lower()
    tag = rng.choice(("forum", "shop", "alt", "news", "vpn"))
    if rng.random() < 0.7:
        forms = [
            f"{first}.{last}{number}+{tag}@gmail.com",
            f"{f}{l_}{number}@googlemail.com",
            f"{f.upper()}.{l_.upper()}{number}@gmail.com",
            f"{f}.{l_}.{number}@gmail.com",
            f"{f[0]}.{f[1:]}{l_}{number}@GoogleMail.com",
        ]
    else:
        domain = rng.choice(("outlook.com", "hotmail.com", "protonmail.com", "icloud.com"))
        local = f"{f}{l_[0]}{number}"
        forms = [
            f"{local}@{domain}",
            f"{local.capitalize()}+{tag}@{domain}",
            f"{local.upper()}@{domain.upper()}",
            f"{local}+{tag}@{domain.capitalize()}",
        ]
    rng.shuffle(forms)
    return forms


def _handle_forms(handle: str) -> list[str]:
    """Spellings of one handle that the username normaliser folds together, all different."""
    lower, upper = handle.lower(), handle.upper()
    forms = [f"@{handle}", lower, upper, f"@{upper}", lower.capitalize(), handle]
    return list(dict.fromkeys(forms))


def _phone_form(number: phonenumbers.PhoneNumber, region: str, used: list[str]) -> str:
    """The number as an agency in ``region`` would write it, unlike the forms in ``used``."""
    fmt = phonenumbers.PhoneNumberFormat
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    international = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    if phonenumbers.region_code_for_number(number) == region:
        candidates = [
            national,
            re.sub(r"[()]", "", national).strip().replace(" ", "-"),
            international,
            phonenumbers.format_number(number, fmt.E164),
        ]
    else:
        candidates = [
            phonenumbers.format_out_of_country_calling_number(number, region),
            international,
            phonenumbers.format_number(number, fmt.E164),
        ]
    return next((c for c in candidates if c not in used), candidates[0])


def _name_variant(firsts: tuple[str, ...], lasts: tuple[str, ...], j: int) -> tuple[str, str]:
    """The j-th spelling of a name: canonical, both variants, then mixed."""
    pattern = ((0, 0), (1, 1), (0, 1), (1, 0))[j % 4]
    return firsts[pattern[0] % len(firsts)], lasts[pattern[1] % len(lasts)]


def _planted_types(rng: random.Random, *, has_card: bool) -> tuple[RecordType, ...]:
    """A person, a chat, a tip and (if any) a card transaction, plus one or two others."""
    types = [RecordType.PERSON, RecordType.CHAT_MESSAGE, RecordType.TIP]
    extras = [RecordType.ONLINE_IDENTITY, RecordType.PHONE, RecordType.CASE_NOTE, RecordType.ARREST]
    if has_card:
        types.append(RecordType.CARD_TRANSACTION)
        extras.append(RecordType.PAYMENT_CARD)
    types += rng.sample(extras, rng.randint(1, 2))
    return tuple(sorted(types, key=_STAGE.__getitem__))


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class _Pools:
    """Names and streets drawn once per agency from Faker."""

    firsts: tuple[str, ...]
    lasts: tuple[str, ...]
    streets: tuple[str, ...]
    postcodes: tuple[str, ...]
    officers: tuple[str, ...]


@lru_cache(maxsize=16)
def _pools(agency: SampleAgency, seed: int) -> _Pools:
    fake = Faker(agency.locale)
    fake.seed_instance(_seed(seed, agency.id, "faker"))
    firsts = tuple(fake.first_name() for _ in range(600))
    lasts = tuple(fake.last_name() for _ in range(600))
    rng = _rng(seed, agency.id, "officers")
    ranks = _style(agency.region).ranks
    officers = tuple(
        f"{rng.choice(ranks)} {rng.choice(firsts)} {rng.choice(lasts)} #{rng.randint(1000, 99999)}"
        for _ in range(60)
    )
    return _Pools(
        firsts=firsts,
        lasts=lasts,
        streets=tuple(fake.street_address() for _ in range(800)),
        postcodes=tuple(fake.postcode() for _ in range(300)),
        officers=officers,
    )


@dataclass(frozen=True)
class _Persona:
    """A suspect, as written in one agency's records."""

    name: str
    dob: date
    address: str
    email: str
    handle: str
    phone: str
    ip: str
    card: str | None
    platform: str


@dataclass(frozen=True)
class _Victim:
    """A child's account: a handle and a stated age, never a name."""

    handle: str
    age: int
    platform: str


@dataclass(frozen=True)
class _Case:
    """One investigation: its reference, when it opened, and its cast."""

    ref: str
    start: datetime
    suspects: tuple[_Persona, ...]
    victims: tuple[_Victim, ...]
    officer: str
    complete: bool = False
    """Planted: every record names the (single) suspect with all their identifiers."""


class _CaseWriter:
    """Builds the cast of a case and its records, drawing from one random generator."""

    def __init__(self, agency: SampleAgency, pools: _Pools, rng: random.Random) -> None:
        self.agency = agency
        self.style = _style(agency.region)
        self.pools = pools
        self.rng = rng
        self.slot = _slot(agency.id)
        self._builders: dict[RecordType, Callable[[_Case, datetime], Record]] = {
            RecordType.PERSON: self._person,
            RecordType.ONLINE_IDENTITY: self._online_identity,
            RecordType.PHONE: self._phone,
            RecordType.PAYMENT_CARD: self._payment_card,
            RecordType.CARD_TRANSACTION: self._card_transaction,
            RecordType.CHAT_MESSAGE: self._chat_message,
            RecordType.ARREST: self._arrest,
            RecordType.CASE_NOTE: self._case_note,
            RecordType.TIP: self._tip,
            RecordType.MEDIA_HASH: self._media_hash,
        }

    # -- cast -------------------------------------------------------------------------------

    def ordinary_case(self, ref: str, start: datetime) -> _Case:
        rng = self.rng
        suspects = tuple(self._persona(start) for _ in range(1 if rng.random() < 0.8 else 2))
        victims = tuple(self._victim() for _ in range(rng.randint(1, 3)))
        return _Case(ref, start, suspects, victims, rng.choice(self.pools.officers))

    def planted_case(
        self, ref: str, start: datetime, identity: PlantedIdentity, appearance: PlantedAppearance
    ) -> _Case:
        suspect = _Persona(
            name=appearance.name,
            dob=identity.date_of_birth,
            address=self._address(),
            email=appearance.email,
            handle=appearance.username,
            phone=appearance.phone,
            ip=appearance.ip,
            card=appearance.card,
            platform=self.rng.choice(_PLATFORMS),
        )
        victims = (self._victim(), self._victim())
        officer = self.rng.choice(self.pools.officers)
        return _Case(ref, start, (suspect,), victims, officer, complete=True)

    def _persona(self, start: datetime) -> _Persona:
        rng = self.rng
        first, last = rng.choice(self.pools.firsts), rng.choice(self.pools.lasts)
        number = _in_class(rng, 100, 10_000, self.slot)
        handle = _handle(rng, first, last, number)
        local = rng.choice(
            (
                f"{_slug(first)}.{_slug(last)}{number}",
                f"{_slug(first)[0]}{_slug(last)}{number}",
                handle.lower(),
            )
        )
        card = _card_number(rng, self.slot)
        return _Persona(
            name=f"{first} {last}",
            dob=start.date() - timedelta(days=rng.randint(19 * 365, 62 * 365)),
            address=self._address(),
            email=f"{local}@{rng.choice(self.style.email_domains)}",
            handle=handle,
            phone=_written_phone(rng, _phone_number(rng, self.agency.region, self.slot)),
            ip=_ipv4(rng, self.slot) if rng.random() < 0.8 else _ipv6(rng),
            card=_written_card(card, rng.choice(("spaced", "dashed", "plain"))),
            platform=rng.choice(_PLATFORMS),
        )

    def _victim(self) -> _Victim:
        rng = self.rng
        first, second = rng.sample(_KID_WORDS, 2)
        number = _in_class(rng, 100, 10_000, self.slot)
        handle = f"{first}{rng.choice(('', '_', '.'))}{second}{number}"
        return _Victim(handle, rng.randint(12, 15), rng.choice(_PLATFORMS))

    def _address(self) -> str:
        rng, pools = self.rng, self.pools
        city = rng.choice(self.style.cities)
        return f"{rng.choice(pools.streets)}, {city} {rng.choice(pools.postcodes)}"

    def _other_name(self) -> str:
        return f"{self.rng.choice(self.pools.firsts)} {self.rng.choice(self.pools.lasts)}"

    # -- records ----------------------------------------------------------------------------

    def records(
        self, case: _Case, types: Sequence[RecordType], ids: Sequence[str]
    ) -> Iterator[Record]:
        """The case's records, in the order given, at increasing times after its start."""
        rng = self.rng
        offsets = sorted(rng.randrange(_CASE_SPAN_SECONDS) for _ in types)
        for record_type, record_id, offset in zip(types, ids, offsets, strict=True):
            at = case.start + timedelta(seconds=offset)
            record: Record = {
                "id": record_id,
                "type": record_type.value,
                "case_ref": case.ref,
                "handling": rng.choices(_HANDLING, cum_weights=_HANDLING_CUM)[0],
                "created": _iso(at),
            }
            if rng.random() < 0.15:
                record["updated"] = _iso(at + timedelta(hours=rng.randint(1, 480)))
            record["source"] = rng.choice(_SOURCES[record_type])
            record.update(self._builders[record_type](case, at))
            yield record

    def _subject(self, case: _Case) -> _Persona:
        return case.suspects[0] if case.complete else self.rng.choice(case.suspects)

    def _maybe(self, case: _Case, probability: float) -> bool:
        """Whether to include an optional identifier: always, in a planted case."""
        return case.complete or self.rng.random() < probability

    def _context(self, case: _Case, who: _Persona, at: datetime) -> _Fill:
        return _Fill(self.rng, self.style, case, who, at)

    def _identifiers(self, case: _Case, who: _Persona, probability: float) -> Record:
        fields: Record = {}
        if self._maybe(case, probability):
            fields["emails"] = [who.email]
        if self._maybe(case, probability):
            fields["phones"] = [who.phone]
        if self._maybe(case, probability):
            fields["usernames"] = [who.handle]
        return fields

    def _person(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        if case.complete or rng.random() < 0.6:
            who = self._subject(case)
            esp = rng.choice(_ESPS)
            return {
                "name": who.name,
                "date_of_birth": who.dob.isoformat(),
                "nationality": self.style.nationality,
                **self._identifiers(case, who, 0.7),
                "address": who.address,
                "description": rng.choice(_SUSPECT_NOTES).format(esp=esp),
            }
        born = at.date() - timedelta(days=rng.randint(18 * 365, 70 * 365))
        fields: Record = {"name": self._other_name(), "date_of_birth": born.isoformat()}
        if rng.random() < 0.6:
            number = _phone_number(rng, self.agency.region, self.slot)
            fields["phones"] = [_written_phone(rng, number)]
        return {**fields, "address": self._address(), "description": rng.choice(_OTHER_NOTES)}

    def _online_identity(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        kinds = ("username", "email", "im_buddy", "ip", "url")
        kind = rng.choices(kinds, cum_weights=(45, 65, 80, 90, 100))[0]
        if case.complete:
            kind = "username"
        esp = rng.choice(_ESPS)
        if kind == "username":
            return {
                "kind": kind,
                "value": who.handle,
                "platform": who.platform,
                "display_name": who.name.split()[0],
                "description": f"Account identified from {esp} return.",
            }
        if kind == "email":
            return {
                "kind": kind,
                "value": who.email,
                "platform": "e-mail",
                "description": f"Registration e-mail of {who.handle} on {who.platform}.",
            }
        if kind == "im_buddy":
            victim = rng.choice(case.victims)
            return {
                "kind": kind,
                "value": victim.handle,
                "owner": who.handle,
                "platform": victim.platform,
                "description": "Buddy-list entry recovered from a seized device.",
            }
        if kind == "ip":
            return {
                "kind": kind,
                "value": who.ip,
                "description": f"Login IP in {esp} return, {at:%Y-%m-%d}.",
            }
        return {
            "kind": kind,
            "value": _file_url(rng),
            "platform": "file hosting",
            "description": "File-sharing link recovered from chat logs.",
        }

    def _phone(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        subscriber = who.name if self._maybe(case, 0.8) else self._other_name()
        description = rng.choice(
            (
                "Prepaid SIM; subscriber details unverified.",
                f"{self.style.data_order} returned subscriber details.",
                "Number given to the complainant in chat.",
            )
        )
        return {
            "number": who.phone,
            "subscriber_name": subscriber,
            "carrier": rng.choice(self.style.carriers),
            "description": description,
        }

    def _payment_card(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        card = who.card or _card_number(rng, self.slot)
        digits = int(re.sub(r"\D", "", card))  # the same card always has the same details
        return {
            "card_number": card,
            "holder_name": who.name,
            "expiry": f"{digits // 10 % 12 + 1:02d}/{26 + digits // 1000 % 6}",
            "issuer": self.style.issuers[digits // 100 % len(self.style.issuers)],
            "description": "Card used to pay for file-hosting and VPN subscriptions.",
        }

    def _card_transaction(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        merchant, domain = rng.choice(_MERCHANTS)
        fields: Record = {"card_number": who.card or _card_number(rng, self.slot)}
        if self._maybe(case, 0.8):
            fields["holder_name"] = who.name
        fields["merchant"] = merchant
        if rng.random() < 0.6:
            fields["merchant_url"] = f"https://pay.{domain}/receipt/{_token(rng, 12)}"
        fields["amount"] = f"{rng.randint(499, 14999) / 100:.2f}"
        fields["currency"] = self.style.currency
        fields["transacted_at"] = _iso(at - timedelta(days=rng.randint(1, 60)))
        if self._maybe(case, 0.6):
            fields["email"] = who.email
        if self._maybe(case, 0.5):
            fields["ip"] = who.ip
        if rng.random() < 0.4:
            fields["description"] = rng.choice(_TXN_NOTES)
        return fields

    def _chat_message(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        victim = rng.choice(case.victims)
        roll = 0.0 if case.complete else rng.random()
        fields: Record = {}
        lines: tuple[str, ...]
        if roll < 0.65:
            sender, recipient, lines = who.handle, victim.handle, _GROOMER_LINES
            fields["platform"] = victim.platform
        elif roll < 0.9:
            sender, recipient, lines = victim.handle, who.handle, _CHILD_LINES
            fields["platform"] = victim.platform
        else:
            peer = next((s for s in case.suspects if s is not who), None)
            sender, lines = who.handle, _TRADER_LINES
            recipient = peer.handle if peer else self._persona(case.start).handle
            fields["platform"] = rng.choice(_PRIVATE_APPS)
            fields["room"] = f"{rng.choice(_ADJECTIVES).lower()}-{rng.choice(_NOUNS).lower()}s"
        text = rng.choice(lines).format_map(self._context(case, who, at))
        fields.update(
            sender=sender,
            recipients=[recipient],
            text=text,
            sent_at=_iso(at - timedelta(seconds=rng.randrange(14 * 86400))),
        )
        if sender == who.handle and self._maybe(case, 0.5):
            fields["sender_ip"] = who.ip
        return fields

    def _arrest(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        narrative = rng.choice(_ARREST_TEXTS).format_map(self._context(case, who, at))
        charges = rng.sample(self.style.charges, rng.randint(1, 3))
        return {
            "name": who.name,
            "date_of_birth": who.dob.isoformat(),
            "charges": charges,
            "location": who.address,
            "arrested_at": _iso(at),
            "arresting_officer": case.officer,
            "narrative": narrative,
            **self._identifiers(case, who, 0.5),
        }

    def _case_note(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        template = rng.choice(_NOTE_TEXTS)
        if who.card is None and "{last4}" in template:
            template = _NOTE_TEXTS[0]
        text = template.format_map(self._context(case, who, at))
        return {"author": case.officer, "text": text, "subject_names": [who.name]}

    def _tip(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        context = self._context(case, who, at)
        fields: Record = {
            "reporter": rng.choice(self.style.tip_sources),
            "reported_at": _iso(at - timedelta(hours=rng.randint(2, 200))),
            "text": rng.choice(_TIP_TEXTS).format_map(context),
        }
        if self._maybe(case, 0.5):
            fields["names"] = [who.name]
        if self._maybe(case, 0.6):
            fields["emails"] = [who.email]
        if self._maybe(case, 0.8):
            fields["usernames"] = [who.handle]
        if self._maybe(case, 0.3):
            fields["phones"] = [who.phone]
        if self._maybe(case, 0.6):
            fields["ips"] = [who.ip]
        if rng.random() < 0.3:
            fields["urls"] = [context["url"]]
        return fields

    def _media_hash(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        fields: Record = {}
        if rng.random() < 0.9:
            fields["md5"] = f"{rng.getrandbits(128):032x}"
        if rng.random() < 0.7:
            fields["sha1"] = f"{rng.getrandbits(160):040x}"
        if not fields or rng.random() < 0.5:
            fields["pdq"] = f"{rng.getrandbits(256):064x}"
        esp = rng.choice(_ESPS)
        filename = rng.choice(
            (
                f"IMG_{rng.randint(1, 9999):04d}.jpg",
                f"{_token(rng, 8)}.zip",
                f"clip_{_token(rng, 6)}.mp4",
                f"scan{rng.randint(1, 999):03d}.png",
            )
        )
        return {
            **fields,
            "filename": filename,
            "platform": esp,
            "description": rng.choice(_MEDIA_NOTES).format(esp=esp),
        }


class _Fill(dict[str, str]):
    """Values for a text template; random ones are drawn only when the template uses them."""

    def __init__(
        self, rng: random.Random, style: _Style, case: _Case, who: _Persona, at: datetime
    ) -> None:
        super().__init__(
            handle=who.handle,
            email=who.email,
            phone=who.phone,
            ip=who.ip,
            name=who.name,
            address=who.address,
            platform=who.platform,
            last4=who.card[-4:] if who.card else "",
            order=style.data_order,
        )
        self._rng, self._style, self._case, self._at = rng, style, case, at

    def __missing__(self, key: str) -> str:
        value = self._draw(key)
        self[key] = value
        return value

    def _draw(self, key: str) -> str:
        rng, style = self._rng, self._style
        match key:
            case "age" | "victim":
                victim = rng.choice(self._case.victims)
                self["victim"], self["age"] = victim.handle, str(victim.age)
                return self[key]
            case "app":
                return rng.choice(_PRIVATE_APPS)
            case "city":
                return rng.choice(style.cities).split(",")[0]
            case "url":
                return _file_url(rng)
            case "password":
                return _token(rng, 8)
            case "place":
                return rng.choice(_PLACES)
            case "day":
                return rng.choice(_DAYS)
            case "esp":
                return rng.choice(_ESPS)
            case "n":
                return str(rng.randint(2, 400))
            case "when":
                return self._at.strftime("%Y-%m-%d %H:%M:%S")
            case "tipno":
                return str(rng.randint(100_000_000, 199_999_999))
            case "carrier":
                return rng.choice(style.carriers)
            case "devices":
                return rng.choice(_DEVICES)
            case "month":
                since = self._at - timedelta(days=rng.randint(20, 200))
                return f"{_MONTHS[since.month - 1]} {since.year}"
            case "merchant":
                return rng.choice(_MERCHANTS)[0]
        raise KeyError(key)


# ---------------------------------------------------------------------------------------------
# Streams and files
# ---------------------------------------------------------------------------------------------


class _Stream:
    """One agency's cases, numbered per year, with planted cases slotted in between."""

    def __init__(self, agency: SampleAgency, seed: int) -> None:
        self.agency = agency
        self.pools = _pools(agency, seed)
        self.rng = _rng(seed, agency.id, "records")
        self.writer = _CaseWriter(agency, self.pools, self.rng)
        self._last_number: dict[int, int] = {}

    def case_size(self) -> int:
        return self.rng.randint(8, 40)

    def ordinary(self, size: int, first_number: int) -> Iterator[Record]:
        rng = self.rng
        start = self._start(rng)
        case = self.writer.ordinary_case(self._case_ref(start), start)
        drawn = rng.choices(_TYPES, cum_weights=_CUM_WEIGHTS, k=size)
        types = sorted(drawn, key=_STAGE.__getitem__)
        ids = [f"{self.agency.id}-{_SLUGS[t]}-{first_number + i:07d}" for i, t in enumerate(types)]
        return self.writer.records(case, types, ids)

    def planted(
        self, identity: PlantedIdentity, appearance: PlantedAppearance, plan_seed: int
    ) -> Iterator[Record]:
        rng = _rng(plan_seed, identity.link_id, self.agency.id)
        writer = _CaseWriter(self.agency, self.pools, rng)
        start = self._start(rng)
        case = writer.planted_case(self._case_ref(start), start, identity, appearance)
        return writer.records(case, appearance.record_types, appearance.record_ids)

    def _start(self, rng: random.Random) -> datetime:
        return _FIRST_DAY + timedelta(
            days=rng.randrange(_CASE_START_DAYS), seconds=rng.randrange(86_400)
        )

    def _case_ref(self, start: datetime) -> str:
        number = self._last_number.get(start.year, 0) + 1
        self._last_number[start.year] = number
        return f"{self.agency.id.upper()}-{start.year}-{number:05d}"


def iter_records(
    agency: SampleAgency, count: int, *, seed: int, links: LinkPlan
) -> Iterator[Record]:
    """Yield ``count`` input records of one agency, planted ones included.

    Records are flat, JSON-serialisable mappings as :func:`cets.search.records.prepare`
    takes them, without an ``agency`` key (the ingesting node supplies it). Ids are
    ``<agency>-<type>-<number>``, each number below ``count`` used once. Only the current
    case is held in memory.

    Raises:
        ValueError: ``count`` is negative or smaller than the agency's planted records.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    planted = links.appearances_at(agency.id)
    reserved = sum(len(appearance.record_ids) for _, appearance in planted)
    if reserved > count:
        raise ValueError(
            f"{agency.id}: {count} records cannot hold the {reserved} planted "
            "ones; plant fewer links"
        )
    stream = _Stream(agency, seed)
    ordinary = count - reserved
    done, next_planted = 0, 0
    while done < ordinary or next_planted < len(planted):
        due = (next_planted + 1) * ordinary // (len(planted) + 1)
        if next_planted < len(planted) and done >= due:
            identity, appearance = planted[next_planted]
            next_planted += 1
            yield from stream.planted(identity, appearance, links.seed)
            continue
        size = min(stream.case_size(), ordinary - done)
        yield from stream.ordinary(size, reserved + done)
        done += size


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
