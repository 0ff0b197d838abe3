"""Benchmark the merged ranking against one central index over every agency's records.

    .venv/bin/python bench/ranking_bench.py                          # writes bench/results/
    .venv/bin/python bench/ranking_bench.py --records 6000 --queries 30   # quick
    .venv/bin/python bench/ranking_bench.py --save-fetched fetched.json   # and keep the lists
    .venv/bin/python bench/ranking_bench.py --from-fetched fetched.json   # judge them again

Setting up the indices and fetching through the federation takes minutes; judging the
fetched lists takes seconds. ``--save-fetched`` keeps what was fetched (every agency's hits
and the central index's top 10 and scores), and ``--from-fetched`` judges it again -- with
the merge methods as they are now -- printing the tables without writing any results, so a
change to a method can be measured on the same lists in seconds. The results in
``bench/results/`` always come from a run that fetched its own lists.

The yardstick: what ONE OpenSearch index over the union of all agencies' records would rank
(the "central" ranking). The federation cannot have it -- each agency's node ranks only its
own records, with its own term statistics -- so the gateway merges the per-agency lists.
This measures how close each way of merging comes.

Set-up, on one local OpenSearch: three demo agencies' synthetic records, each ingested into
its own index through the normal ingest and searched by its own search node; and the same
records, ids prefixed with their agency (``tps:tps-tip-0000021``), ingested into one
central index with the same mapping and analysers (each agency's file with that agency's
phone region, so the stored documents are the same). Three scenarios, each with its own
indices, federation and query set:

* ``even``:        the records split 1:1:1 between the agencies, every record type at each;
* ``uneven``:      split 14:5:1, as a large force, a mid-sized one and a small unit;
* ``specialised``: split 1:1:1, but only tps holds every record type; rcmp holds online
  records (chats, online identities, tips, persons), nca investigation records (tips, case
  notes, arrests, persons, phones) -- so the same word is common at one agency and rare at
  another, and each node's term statistics differ from the central index's.

Queries (deterministic for a seed, drawn from each scenario's own records): 40% free text,
half of them 1-3 content words of one record's text (all must match, the default), half
2-3 content words of two records joined with ``|`` (any may match: hits are graded by how
many and how rare); content words are words of the sample wording, no stop words. 35% names
(person records' names, a third of them the differently spelled names of suspects planted at
several agencies). 25% selectors (half one identifier of a planted suspect, half a
file-hosting domain together with a word of a record that links to it). Every query asks
for 10 hits.

For each query: the central ranking is the top 10 of the central index for the same search
body a node runs; the federated ranking is the three agencies' top-10 lists fetched through
the federation service over gRPC (every agency must answer ok), merged with

* ``rrf``: reciprocal rank fusion (k = 60);
* ``minmax``: each agency's scores rescaled to [0, 1];
* ``bounded``: each agency's own scores, unless its best is more than 10 times the median of
  the others' best: then rescaled so that its best is that median (the gateway's method);
* ``raw score``: the naive baseline, hits sorted by the score their agency gave them;
* ``ceiling``: not a method -- the fetched hits sorted by their *central* score, the best
  any merge of these three top-10 lists can do.

Measures (:mod:`cets.gateway.quality`), per record identity (agency, record id): top-10
overlap with the central top 10, and nDCG@10 with graded relevance from the central ranking
(11 - central rank for its top 10, 0 otherwise). Records the central index scores equally
share a grade, and a record tied with the central 10th counts as top 10: exact-match
queries and the synthetic records' repeated wording make many ties, which the engine breaks
by internal document order. The same measures with position-only grades (ties broken as the
engine happened to) are reported too.

And with a hostile or misconfigured node: the last agency's fetched hits changed after the
fetch (their grades unchanged), its scores multiplied by 1000, every hit given the score
1000, or its scores multiplied by 3 -- within the factor by which honest agencies' scores
differ for real, so ``bounded`` takes them at face value.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
from _common import UNLIMITED, header, machine, write
from google.protobuf import json_format
from opensearchpy import OpenSearch

from cets.common.background import BackgroundService
from cets.core.convert import query_from_proto
from cets.core.display import build_query
from cets.core.records import IngestContext, RecordType
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.federation.server import FederationServer
from cets.gateway.merge import DEFAULT_K, DEFAULT_TRUST_RATIO, Method, merge
from cets.gateway.quality import ndcg_at_k, overlap_at_k, positional_grades, tie_aware_grades
from cets.search.background import BackgroundNode
from cets.search.dsl import build_body
from cets.search.embedded_opensearch import EmbeddedOpenSearch, OpenSearchSettings
from cets.search.index import IndexNames
from cets.search.ingest import ingest_file
from cets.search.sample_data import DEMO_AGENCIES, LinkPlan, SampleAgency, iter_records
from cets.search.sample_data import plan_links as plan_sample_links
from cets.v1 import federation_pb2, federation_pb2_grpc, search_pb2

TOP = 10
"""The cut-off of both measures, and the hits each agency and the central index return."""


@dataclass(frozen=True)
class Scenario:
    split: tuple[int, ...]
    """How the records are split between the three agencies, in ``DEMO_AGENCIES`` order."""
    keep: Mapping[str, frozenset[RecordType]] = field(default_factory=dict)
    """The only record types an agency holds (agencies not named hold every type)."""


SCENARIOS = {
    "even": Scenario((1, 1, 1)),
    "uneven": Scenario((14, 5, 1)),
    "specialised": Scenario(
        (1, 1, 1),
        keep={
            "rcmp": frozenset(
                {
                    RecordType.CHAT_MESSAGE,
                    RecordType.ONLINE_IDENTITY,
                    RecordType.TIP,
                    RecordType.PERSON,
                }
            ),
            "nca": frozenset(
                {
                    RecordType.TIP,
                    RecordType.CASE_NOTE,
                    RecordType.ARREST,
                    RecordType.PERSON,
                    RecordType.PHONE,
                }
            ),
        },
    ),
}
QUERY_TYPES = ("text", "name", "selector")
SHARES = {"text": 0.40, "name": 0.35}
"""Share of each query type; selectors get the rest."""
CENTRAL = "central"
RAW = "raw score"
CEILING = "ceiling"
METHODS = (*(m.value for m in Method), RAW, CEILING)
LABELS = {
    Method.RRF.value: f"rrf (k={DEFAULT_K})",
    Method.MINMAX.value: "minmax",
    Method.BOUNDED.value: f"bounded (x{DEFAULT_TRUST_RATIO:g})",
    RAW: "raw score (naive)",
    CEILING: "ceiling: central scores",
}
HOSTILE = {
    "x1000": "one node multiplies its scores by 1000",
    "constant": "one node gives every hit the same top score (1000)",
    "x3": "one node multiplies its scores by 3 (within the bound of bounded)",
}
"""A misconfigured or hostile node: applied to the last agency's fetched hits, after the
fetch, to every query of every scenario; its hits keep their central grades. ``x3`` stays
within the factor honest partners' scores differ by, which ``bounded`` lets through."""
_HOSTILE_SCORE: dict[str, Callable[[float], float]] = {
    "x1000": lambda score: score * 1000,
    "constant": lambda _: 1000.0,
    "x3": lambda score: score * 3,
}


def _hostile(hits: Sequence[search_pb2.Hit], variant: str) -> list[search_pb2.Hit]:
    changed = []
    for hit in hits:
        copy = search_pb2.Hit()
        copy.CopyFrom(hit)
        copy.score = _HOSTILE_SCORE[variant](hit.score)
        changed.append(copy)
    return changed


# fmt: off
STOP_WORDS = frozenset({
    "the", "and", "for", "with", "from", "that", "this", "are", "was", "were", "you", "your",
    "their", "they", "them", "has", "have", "had", "not", "but", "its", "our", "out", "all",
    "any", "can", "one", "two", "his", "her", "him", "she", "who", "what", "where", "when",
    "how", "did", "into", "then", "than", "also", "same", "after", "before", "about", "there",
    "here", "just", "off", "too", "way", "new", "use", "now", "get", "got", "ill", "let",
    "may", "per", "see", "via", "yes",
})
# fmt: on
_WORD = re.compile(r"^[a-z]{3,}$")
_URL_HOST = re.compile(r"https?://([^/\s]+)")

Key = tuple[str, str]
"""A record's identity: (agency, record id)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30_000, help="across the three agencies")
    parser.add_argument("--queries", type=int, default=60, help="per scenario")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--save-fetched",
        type=Path,
        metavar="FILE",
        help="also write every agency's fetched list and the central scores to FILE (JSON)",
    )
    parser.add_argument(
        "--from-fetched",
        type=Path,
        metavar="FILE",
        help="judge the lists a --save-fetched run wrote to FILE again, without OpenSearch or "
        "the federation (seconds, not minutes): prints the tables, writes no results",
    )
    args = parser.parse_args()
    if args.queries < len(QUERY_TYPES):
        parser.error(f"--queries must be at least {len(QUERY_TYPES)}")
    if args.from_fetched:
        if args.save_fetched:
            parser.error("--from-fetched and --save-fetched do not go together")
        saved = json.loads(args.from_fetched.read_text(encoding="utf-8"))
        report = _judged_report(saved) | {"rejudged": machine()}
        print(_markdown(report), end="")
        return 0
    fetched = _fetch_all(args)
    if args.save_fetched:
        args.save_fetched.write_text(json.dumps(fetched) + "\n", encoding="utf-8")
    report = _judged_report(fetched)
    write("ranking", report, _markdown(report))
    return 0


def _fetch_all(args: Any) -> dict[str, Any]:
    """Every scenario set up on one local OpenSearch and its queries fetched, as JSON."""
    started = time.perf_counter()
    report: dict[str, Any] = {
        "machine": machine(),
        "records": args.records,
        "queries_per_scenario": args.queries,
        "seed": args.seed,
        "top": TOP,
        "rrf_k": DEFAULT_K,
        "trust_ratio": DEFAULT_TRUST_RATIO,
        "scenarios": {},
    }
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        engine = stack.enter_context(
            EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-bench-rank", heap_mb=1024))
        )
        client = OpenSearch(hosts=[engine.url], timeout=120, max_retries=2)
        stack.callback(client.close)
        for name, scenario in SCENARIOS.items():
            print(f"scenario {name}", flush=True)
            report["scenarios"][name] = _scenario(
                Path(tmp) / name, engine.url, client, name, scenario, args
            )
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def _judged_report(fetched: Mapping[str, Any]) -> dict[str, Any]:
    """The report: a fetch (:func:`_fetch_all`) with every scenario judged."""
    scenarios = {name: _judged(s) for name, s in fetched["scenarios"].items()}
    return {**fetched, "scenarios": scenarios}


# --- data ------------------------------------------------------------------------------------


def _counts(total: int, split: Sequence[int]) -> list[int]:
    counts = [total * share // sum(split) for share in split]
    counts[0] += total - sum(counts)
    return counts


def _write_sample(
    out: Path,
    agencies: Sequence[SampleAgency],
    counts: Sequence[int],
    keep: Mapping[str, frozenset[RecordType]],
    seed: int,
) -> LinkPlan:
    """One NDJSON file per agency, ``counts`` records each, with planted cross-agency links
    (one per 2,000 records, as ``write_sample`` plants them), and each file's copy for the
    central index: ids prefixed with the agency. An agency in ``keep`` gets only records of
    those types (see :func:`_records`)."""
    out.mkdir(parents=True)
    plan = plan_sample_links(agencies, seed=seed, count=max(5, sum(counts) // 2000))
    for agency, count in zip(agencies, counts, strict=True):
        types = {t.value for t in keep.get(agency.id, frozenset(RecordType))}
        records = _records(agency, count, types, seed, plan)
        own = (out / f"{agency.id}.ndjson").open("w", encoding="utf-8")
        central = (out / f"{CENTRAL}-{agency.id}.ndjson").open("w", encoding="utf-8")
        with own, central:
            for record in records:
                own.write(json.dumps(record, ensure_ascii=False) + "\n")
                copy = {**record, "id": f"{agency.id}:{record['id']}"}
                central.write(json.dumps(copy, ensure_ascii=False) + "\n")
    return plan


def _records(
    agency: SampleAgency, count: int, types: set[str], seed: int, plan: LinkPlan
) -> list[dict[str, Any]]:
    """``count`` records of ``types`` from the agency's stream, planted ones spread through.

    The stream is generated for a length whose records of ``types`` reach ``count`` (the
    planted records sit at even intervals of the whole stream, so it is not cut short);
    planted records of other types are left out with the rest.
    """
    length = count
    while True:
        stream = iter_records(agency, length, seed=seed, links=plan)
        kept = [r for r in stream if r["type"] in types]
        if len(kept) >= count:
            return kept[:count]
        # read further in proportion to the share of the stream that is kept
        length += (count - len(kept)) * length // len(kept) + 1 if kept else length


def _ingest(
    data: Path,
    client: OpenSearch,
    fed: LocalFederation,
    agencies: Sequence[SampleAgency],
    url: str,
    prefix: str,
) -> dict[str, Any]:
    card_key = fed.agencies[0].card_key
    central = IndexNames(prefix, CENTRAL)
    done: dict[str, Any] = {}
    for agency in agencies:
        config = fed.agency(agency.id).node_config(url, index_prefix=prefix)
        ctx = IngestContext(agency.id, config.card_key, agency.region)
        own = ingest_file(data / f"{agency.id}.ndjson", client=client, names=config.index, ctx=ctx)
        ctx = IngestContext(CENTRAL, card_key, agency.region)
        path = data / f"{CENTRAL}-{agency.id}.ndjson"
        copy = ingest_file(path, client=client, names=central, ctx=ctx)
        for summary in (own, copy):
            assert summary.rejected == 0, f"{agency.id}: {summary.rejected} records rejected"
            assert summary.indexed == summary.read, f"{agency.id}: not every record indexed"
        done[agency.id] = {"records": own.in_index, "seconds": round(own.seconds + copy.seconds, 1)}
    total = sum(d["records"] for d in done.values())
    in_central = int(client.count(index=central.alias)["count"])
    assert in_central == total, f"central index holds {in_central}, agencies {total}"
    return done


# --- queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchQuery:
    type: str
    text: str = ""
    name: str = ""
    selectors: tuple[str, ...] = ()

    def proto(self) -> search_pb2.Query:
        return build_query(text=self.text, name=self.name, selectors=self.selectors, limit=TOP)


def _load(data: Path, agencies: Sequence[SampleAgency]) -> dict[str, list[dict[str, Any]]]:
    records: dict[str, list[dict[str, Any]]] = {}
    for agency in agencies:
        with (data / f"{agency.id}.ndjson").open(encoding="utf-8") as lines:
            records[agency.id] = [json.loads(line) for line in lines]
    return records


def _words(text: str) -> list[str]:
    """Content words of ``text`` in order, once each: no stop words, numbers or identifiers."""
    words = (w.strip(".,;:!?()[]\"'").lower() for w in _URL_HOST.sub(" ", text).split())
    return list(dict.fromkeys(w for w in words if _WORD.match(w) and w not in STOP_WORDS))


def _queries(
    records: Mapping[str, list[dict[str, Any]]],
    plan: LinkPlan,
    count: int,
    seed: int,
    matches: Callable[[BenchQuery], int],
) -> tuple[list[BenchQuery], int]:
    """``count`` distinct queries, the types in the documented shares, the same for a seed.

    Returns the queries and how many drawn ones were dropped because nothing matches them
    (a planted suspect's identifier held only by records the scenario left out).
    """
    rng = random.Random(seed)
    agencies = sorted(records)
    texts = {
        a: [r[f] for r in records[a] for f in ("text", "narrative") if f in r] for a in agencies
    }
    persons = {a: [r["name"] for r in records[a] if r["type"] == "person"] for a in agencies}
    planted_ids = {rid for i in plan.identities for a in i.appearances for rid in a.record_ids}
    planted_names = sorted(
        {r["name"] for a in agencies for r in records[a] if r["id"] in planted_ids and "name" in r}
    )
    planted_selectors = sorted({s for i in plan.identities for s in i.selectors})
    linked = {a: [t for t in texts[a] if _URL_HOST.search(t) and _words(t)] for a in agencies}

    def text_query() -> BenchQuery:
        words = _words(rng.choice(texts[rng.choice(agencies)]))
        if rng.random() < 0.5:  # every word must match
            size = min(len(words), rng.choice((1, 2, 2, 3)))
            picked = sorted(rng.sample(range(len(words)), size))
            return BenchQuery("text", text=" ".join(words[i] for i in picked))
        other = _words(rng.choice(texts[rng.choice(agencies)]))
        pool = sorted(set(words) | set(other))
        any_of = rng.sample(pool, min(len(pool), rng.choice((2, 3))))
        return BenchQuery("text", text=" | ".join(any_of))

    def name_query() -> BenchQuery:
        if rng.random() < 1 / 3:
            return BenchQuery("name", name=rng.choice(planted_names))
        return BenchQuery("name", name=rng.choice(persons[rng.choice(agencies)]))

    def selector_query() -> BenchQuery:
        if rng.random() < 0.5:
            return BenchQuery("selector", selectors=(rng.choice(planted_selectors),))
        text = rng.choice(linked[rng.choice(agencies)])
        host = rng.choice(_URL_HOST.findall(text)).lower()
        return BenchQuery("selector", text=rng.choice(_words(text)), selectors=(f"domain:{host}",))

    wanted = {"text": round(count * SHARES["text"]), "name": round(count * SHARES["name"])}
    wanted["selector"] = count - wanted["text"] - wanted["name"]
    makers: dict[str, Callable[[], BenchQuery]] = {
        "text": text_query,
        "name": name_query,
        "selector": selector_query,
    }
    chosen: list[BenchQuery] = []
    dropped = 0
    for kind in QUERY_TYPES:
        seen: set[BenchQuery] = set()
        taken = 0
        for _ in range(wanted[kind] * 50):
            if taken == wanted[kind]:
                break
            query = makers[kind]()
            if query in seen or not (query.text or query.name or query.selectors):
                continue
            seen.add(query)
            if matches(query) == 0:
                dropped += 1
                continue
            chosen.append(query)
            taken += 1
        if taken < wanted[kind]:
            raise RuntimeError(f"only {taken} distinct {kind} queries with matches in this sample")
    return chosen, dropped


# --- rankings --------------------------------------------------------------------------------


class Central:
    """The central index: its top hits for a query, and its score for any record."""

    def __init__(self, client: OpenSearch, names: IndexNames, card_key: bytes) -> None:
        self._client = client
        self._alias = names.alias
        self._card_key = card_key

    def _search(self, query: search_pb2.Query, ids: Sequence[str] = ()) -> dict[str, Any]:
        # Selectors are given in forms that need no phone region.
        parsed = query_from_proto(query, default_region=None, card_key=self._card_key)
        body = build_body(parsed)
        body.pop("highlight")
        if ids:  # a filter: narrows the matches without touching their scores
            body["query"]["bool"]["filter"].append({"terms": {"record_id": list(ids)}})
            body["size"] = len(ids)
        result: dict[str, Any] = self._client.search(index=self._alias, body=body)
        return result

    def top(self, query: search_pb2.Query) -> tuple[list[tuple[Key, float]], int]:
        """The central top ``TOP`` as ((agency, record id), score), and the match count."""
        raw = self._search(query)
        hits = [(_key(h["_source"]["record_id"]), float(h["_score"])) for h in raw["hits"]["hits"]]
        return hits, int(raw["hits"]["total"]["value"])

    def scores(self, query: search_pb2.Query, keys: Sequence[Key]) -> dict[Key, float | None]:
        """The central score of each record (None: the central index does not match it)."""
        found: dict[Key, float | None] = dict.fromkeys(keys)
        if keys:
            raw = self._search(query, [f"{agency}:{record}" for agency, record in keys])
            for hit in raw["hits"]["hits"]:
                found[_key(hit["_source"]["record_id"])] = float(hit["_score"])
        return found


def _key(central_id: str) -> Key:
    agency, _, record = central_id.partition(":")
    return agency, record


def _rankings(
    lists: Mapping[str, Sequence[search_pb2.Hit]], central: Mapping[Key, float | None]
) -> dict[str, list[Key]]:
    """Every method's merged top ``TOP``."""
    rankings = {
        m.value: [(h.agency, h.record_id) for h in merge(lists, method=m)][:TOP] for m in Method
    }
    fetched = [
        (hit.score, rank, agency, hit.record_id)
        for agency, hits in lists.items()
        for rank, hit in enumerate(hits, start=1)
    ]
    raw = sorted(fetched, key=lambda f: (-f[0], f[1], f[2], f[3]))
    rankings[RAW] = [(agency, record) for _, _, agency, record in raw][:TOP]

    def central_order(f: tuple[float, int, str, str]) -> tuple[float, int, str, str]:
        score = central[(f[2], f[3])]
        return (-score if score is not None else float("inf"), f[1], f[2], f[3])

    ceiling = sorted(fetched, key=central_order)
    rankings[CEILING] = [(agency, record) for _, _, agency, record in ceiling][:TOP]
    return rankings


# --- one scenario ----------------------------------------------------------------------------


def _scenario(
    tmp: Path, url: str, client: OpenSearch, name: str, scenario: Scenario, args: Any
) -> dict[str, Any]:
    """One scenario set up, and each of its queries fetched (:func:`_fetch`), as JSON."""
    agencies = DEMO_AGENCIES[:3]
    prefix = f"rank-{name}"
    counts = _counts(args.records, scenario.split)
    clock = time.perf_counter()
    plan = _write_sample(tmp / "data", agencies, counts, scenario.keep, args.seed)
    fed = build_local_federation(
        tmp / "federation", [AgencySpec(a.id, a.name, a.region) for a in agencies]
    )
    ingested = _ingest(tmp / "data", client, fed, agencies, url, prefix)
    central = Central(client, IndexNames(prefix, CENTRAL), fed.agencies[0].card_key)
    queries, dropped = _queries(
        _load(tmp / "data", agencies),
        plan,
        args.queries,
        args.seed,
        matches=lambda query: central.top(query.proto())[1],
    )
    prepared_s = time.perf_counter() - clock
    print(f"  {sum(counts):,} records ingested twice, {len(queries)} queries", flush=True)

    clock = time.perf_counter()
    fetched: list[dict[str, Any]] = []
    with ExitStack() as stack:
        for a in agencies:
            config = fed.agency(a.id).node_config(url, index_prefix=prefix)
            stack.enter_context(BackgroundNode(replace(config, rate_limit=UNLIMITED)))
        first = fed.agency(agencies[0].id)
        service = stack.enter_context(
            BackgroundService(lambda: FederationServer(first.federation_config()))
        )
        channel = grpc.insecure_channel(service.target)
        stack.callback(channel.close)
        stub = federation_pb2_grpc.FederationStub(channel)
        for query in queries:
            fetched.append(_fetch(query, stub, central, [a.id for a in agencies]))
    searched_s = time.perf_counter() - clock
    return {
        "split": list(scenario.split),
        "types": {a: sorted(t.value for t in types) for a, types in scenario.keep.items()},
        "agencies": {a.id: ingested[a.id] for a in agencies},
        "planted_links": len(plan.identities),
        "queries_dropped_without_matches": dropped,
        "seconds": {"prepare": round(prepared_s, 1), "search": round(searched_s, 1)},
        "hostile_agency": agencies[-1].id,
        "fetched": fetched,
    }


def _judged(scenario: Mapping[str, Any]) -> dict[str, Any]:
    """A fetched scenario (see :func:`_scenario`) judged: its summaries and every query."""
    details = [_judge(f, scenario["hostile_agency"]) for f in scenario["fetched"]]
    kept = {k: v for k, v in scenario.items() if k not in ("fetched", "hostile_agency")}
    return kept | {
        "summary": _summary(details),
        "hostile": _hostile_summary(details),
        "queries": details,
    }


def _fetch(
    query: BenchQuery, stub: Any, central: Central, agencies: Sequence[str]
) -> dict[str, Any]:
    """One query's federated answer and the central index's view of it, as JSON.

    Everything :func:`_judge` needs, so that a saved fetch (``--save-fetched``) can be judged
    again without OpenSearch or the federation (``--from-fetched``).
    """
    pb = query.proto()
    response = stub.Search(
        federation_pb2.FederatedSearchRequest(
            query=pb, officer_id="bench", purpose="benchmark", case_reference="BENCH"
        ),
        timeout=30,
    )
    statuses = {a.status.agency: a.status for a in response.answers}
    assert sorted(statuses) == sorted(agencies), f"answers from {sorted(statuses)}"
    for agency, status in statuses.items():
        assert status.code == search_pb2.AgencyStatus.CODE_OK, f"{agency}: {status.reason}"
    lists = {a.status.agency: list(a.response.hits) for a in response.answers}
    top, total = central.top(pb)
    assert top, f"the central index finds nothing for {query}"
    fetched = [(agency, hit.record_id) for agency, hits in lists.items() for hit in hits]
    return {
        "query": {k: v for k, v in asdict(query).items() if v},
        "lists": {
            agency: [json_format.MessageToDict(h, preserving_proto_field_name=True) for h in hits]
            for agency, hits in lists.items()
        },
        "agencies": {
            a.status.agency: {"matches": a.response.total_hits, "hits": len(a.response.hits)}
            for a in response.answers
        },
        "central_matches": total,
        "central_top": [[":".join(key), score] for key, score in top],
        "central_scores": [
            [":".join(key), score] for key, score in central.scores(pb, fetched).items()
        ],
    }


def _judge(fetched: Mapping[str, Any], bad: str) -> dict[str, Any]:
    """Every method's measures for one fetched query, and with ``bad`` a hostile node."""
    lists = {
        agency: [json_format.ParseDict(h, search_pb2.Hit()) for h in hits]
        for agency, hits in fetched["lists"].items()
    }
    top = [(_key(key), float(score)) for key, score in fetched["central_top"]]
    scores: dict[Key, float | None] = {_key(key): score for key, score in fetched["central_scores"]}
    missing = [key for key, score in scores.items() if score is None]
    grades = tie_aware_grades(top, TOP, others=scores)
    positional = positional_grades([key for key, _ in top], TOP)
    judged: dict[str, Any] = {}
    for method, ranking in _rankings(lists, scores).items():
        judged[method] = {
            "overlap": overlap_at_k(ranking, grades, TOP),
            "ndcg": ndcg_at_k(ranking, grades, TOP),
            "overlap_positional": overlap_at_k(ranking, positional, TOP),
            "ndcg_positional": ndcg_at_k(ranking, positional, TOP),
            "top": [":".join(key) for key in ranking],
        }
    hostile: dict[str, dict[str, float]] = {}
    for variant in HOSTILE:
        changed = {a: _hostile(h, variant) if a == bad else h for a, h in lists.items()}
        hostile[variant] = {
            method: ndcg_at_k(ranking, grades, TOP)
            for method, ranking in _rankings(changed, scores).items()
        }
    return {
        "query": fetched["query"],
        "hostile": {"agency": bad, "ndcg": hostile},
        "central_matches": fetched["central_matches"],
        "central_top": fetched["central_top"],
        "agencies": fetched["agencies"],
        "top_10_ties_beyond_cutoff": sum(1 for g in grades.values() if g > 0) > len(top),
        "fetched_not_matched_centrally": [":".join(key) for key in missing],
        "methods": judged,
    }


def _hostile_summary(details: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean nDCG@10 of each method with a hostile node, per variant."""
    return {
        variant: {
            method: round(
                statistics.fmean(d["hostile"]["ndcg"][variant][method] for d in details), 3
            )
            for method in METHODS
        }
        for variant in HOSTILE
    }


def _summary(details: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    def rows(kind: str) -> Iterator[dict[str, Any]]:
        return (d for d in details if kind == "all" or d["query"]["type"] == kind)

    summary: dict[str, dict[str, dict[str, float]]] = {}
    for method in METHODS:
        summary[method] = {}
        for kind in (*QUERY_TYPES, "all"):
            judged = [d["methods"][method] for d in rows(kind)]
            summary[method][kind] = {"queries": len(judged)} | {
                measure: round(statistics.fmean(j[measure] for j in judged), 3)
                for measure in ("overlap", "ndcg", "overlap_positional", "ndcg_positional")
            }
    return summary


# --- the report ------------------------------------------------------------------------------


def _mean(details: Sequence[Mapping[str, Any]], method: str, measure: str) -> str:
    if not details:
        return "-"
    return f"{statistics.fmean(d['methods'][method][measure] for d in details):.3f}"


def _all_perfect(detail: Mapping[str, Any]) -> bool:
    return all(m["overlap"] == 1.0 and m["ndcg"] >= 1.0 - 1e-9 for m in detail["methods"].values())


def _markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown tables."""
    lines = [
        "# Ranking benchmark: merged federated ranking vs one central index",
        "",
        header(report["machine"]),
        "",
        f"{report['records']:,} synthetic records over 3 agencies, "
        f"{report['queries_per_scenario']} queries per scenario (seed {report['seed']}), "
        f"top {report['top']}; took {report['seconds']:.0f} s in all. "
        "Each agency's top 10 comes through the federation service; the reference is the "
        "top 10 of one index over all records. Grades: 11 - central rank, ties in central "
        "score sharing a grade.",
    ]
    if "rejudged" in report:
        lines += [
            "",
            f"Judged again at commit {report['rejudged']['commit']} "
            f"({report['rejudged']['date']}) from the lists fetched above.",
        ]
    scenarios = report["scenarios"]
    lines += [
        "",
        "nDCG@10 over every query of each scenario; with a hostile node (the last agency's "
        "hits changed after the fetch: x1000 multiplies its scores by 1000, constant gives "
        "every hit the score 1000, x3 multiplies its scores by 3):",
        "",
        "| method | "
        + " | ".join(scenarios)
        + " | "
        + " | ".join(f"{v}: {name}" for v in HOSTILE for name in scenarios)
        + " |",
        "|---|" + "---|" * (len(scenarios) * (1 + len(HOSTILE))),
        *(
            f"| {LABELS[method]} | "
            + " | ".join(f"{s['summary'][method]['all']['ndcg']:.3f}" for s in scenarios.values())
            + " | "
            + " | ".join(
                f"{s['hostile'][v][method]:.3f}" for v in HOSTILE for s in scenarios.values()
            )
            + " |"
            for method in METHODS
        ),
    ]
    for name, scenario in scenarios.items():
        sizes = ", ".join(f"{a} {s['records']:,}" for a, s in scenario["agencies"].items())
        details = scenario["queries"]
        ties = sum(1 for d in details if d["top_10_ties_beyond_cutoff"])
        missing = sum(len(d["fetched_not_matched_centrally"]) for d in details)
        open_ = [d for d in details if not _all_perfect(d)]
        settled = len(details) - len(open_)
        lines += ["", f"## {name}: {sizes}", ""]
        if scenario["types"]:
            held = "; ".join(f"{a} only {', '.join(t)}" for a, t in scenario["types"].items())
            lines += [f"Record types: {held}; the others every type.", ""]
        lines += [
            "| method | query type | queries | top-10 overlap | nDCG@10 |",
            "|---|---|---|---|---|",
        ]
        for method, kinds in scenario["summary"].items():
            for kind, row in kinds.items():
                lines.append(
                    f"| {LABELS[method]} | {kind} | {row['queries']} | "
                    f"{row['overlap']:.3f} | {row['ndcg']:.3f} |"
                )
        lines += [
            "",
            f"Of {len(details)} queries: {settled} score 1.0 with every method (all matches "
            "equally good, or too few to choose from); in "
            f"{ties} a fetched hit outside the central top 10 ties with the central 10th. "
            f"Fetched hits the central index does not match: {missing}. Drawn queries "
            f"dropped for matching nothing: {scenario['queries_dropped_without_matches']}.",
            "",
            f"The same, all query types: (a) only the {len(details) - settled} queries where "
            "the methods do not all score 1.0; (b) every query, with position-only grades "
            "(ties ordered as the engine happened to):",
            "",
            "| method | (a) top-10 overlap | (a) nDCG@10 | (b) top-10 overlap | (b) nDCG@10 |",
            "|---|---|---|---|---|",
            *(
                f"| {LABELS[method]} | {_mean(open_, method, 'overlap')} | "
                f"{_mean(open_, method, 'ndcg')} | {kinds['all']['overlap_positional']:.3f} | "
                f"{kinds['all']['ndcg_positional']:.3f} |"
                for method, kinds in scenario["summary"].items()
            ),
            "",
            f"A hostile or misconfigured node ({details[0]['hostile']['agency']}'s fetched "
            "hits changed after the fetch), nDCG@10 over every query:",
            "",
            "| method | " + " | ".join(HOSTILE.values()) + " |",
            "|---|" + "---|" * len(HOSTILE),
            *(
                f"| {LABELS[method]} | "
                + " | ".join(f"{scenario['hostile'][v][method]:.3f}" for v in HOSTILE)
                + " |"
                for method in METHODS
            ),
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
