"""The agencies to generate records for, and what differs between their countries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import phonenumbers


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
