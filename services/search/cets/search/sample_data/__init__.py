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

from cets.search.sample_data._agencies import DEMO_AGENCIES, SampleAgency
from cets.search.sample_data._generator import iter_records
from cets.search.sample_data._links import (
    LinkPlan,
    PlantedAppearance,
    PlantedIdentity,
    plan_links,
)
from cets.search.sample_data._writer import MAX_TOTAL, MIN_TOTAL, SampleManifest, write_sample

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
