// The links among a case's pinned records: records at different agencies that hold the same
// identifier, as released when they were pinned (every identifier of a record released in
// full, the matched ones of a summary). Links chain: records tied directly or through other
// records are one entity, reported when its records come from two agencies or more. The
// shape is the one graph.js draws for a search's answer. Plain data in, plain data out.

import { selectorText } from "./cases-api.js";

function identifiers(hit) {
  const all = [...(hit.selectors || []), ...(hit.matched_selectors || [])].map(selectorText);
  return [...new Set(all)];
}

export function linkPinned(hits) {
  const key = (h) => `${h.agency}\u0000${h.record_id}`;
  const records = new Map(hits.map((h) => [key(h), [h.agency, h.record_id]]));
  const holders = new Map(); // identifier -> record keys
  for (const hit of hits) {
    for (const selector of identifiers(hit)) {
      if (!holders.has(selector)) holders.set(selector, new Set());
      holders.get(selector).add(key(hit));
    }
  }
  const parent = new Map([...records.keys()].map((k) => [k, k]));
  const find = (k) => {
    while (parent.get(k) !== k) {
      parent.set(k, parent.get(parent.get(k)));
      k = parent.get(k);
    }
    return k;
  };
  const shared = [...holders.entries()].filter(([, keys]) => keys.size > 1);
  for (const [, keys] of shared) {
    const [first, ...rest] = [...keys];
    for (const other of rest) parent.set(find(other), find(first));
  }
  const entities = new Map();
  for (const [selector, keys] of shared) {
    const root = find([...keys][0]);
    if (!entities.has(root)) entities.set(root, { keys: new Set(), evidence: [] });
    const entity = entities.get(root);
    for (const k of keys) entity.keys.add(k);
    const held = [...keys].map((k) => records.get(k)).sort();
    entity.evidence.push({ selector, records: held });
  }
  const links = [];
  for (const entity of entities.values()) {
    const held = [...entity.keys].map((k) => records.get(k)).sort();
    const agencies = [...new Set(held.map(([agency]) => agency))].sort();
    if (agencies.length < 2) continue;
    entity.evidence.sort((a, b) => (a.selector < b.selector ? -1 : 1));
    links.push({ records: held, agencies, evidence: entity.evidence });
  }
  return links;
}
