// The links between agencies: records at different agencies that share an identifier,
// drawn as a graph (one column per agency, SVG built element by element) and listed in
// full below it. Selecting a record that is in the results opens it in the record panel.

import { agencyTag, colourOf } from "./agencies.js";
import { openDetail } from "./detail.js";
import { $, el, svgEl } from "./dom.js";
import { shorten } from "./format.js";

const MAX_GRAPH_NODES = 80;

// Shows an answer's links; results are the results listed so far, the records one can open;
// where names the elements to draw in (a case's pinned hits are drawn in its own).
export function showLinks(links, results, where = { graph: "graph", list: "links" }) {
  drawGraph(links, results, where.graph);
  listLinks(links, results, where.list);
}

function recordKey(agency, id) {
  return `${agency}\u0000${id}`;
}

function findResult(results, agency, id) {
  return results.find((r) => r.agency === agency && r.record_id === id);
}

function recordRef(results, agency, id) {
  const hit = findResult(results, agency, id);
  const label = `${agency}/${id}`;
  if (!hit) return el("span", { class: "record-ref" }, agencyTag(agency), `/${id}`);
  const button = el("button", { type: "button", class: "record-ref link-button", title: `Open ${label}` }, agencyTag(agency), `/${id}`);
  button.addEventListener("click", () => openDetail(hit, resultElement(agency, id)));
  return button;
}

function resultElement(agency, id) {
  return [...document.querySelectorAll("#results .result")].find(
    (li) => li.dataset.agency === agency && li.dataset.record === id,
  );
}

function listLinks(links, results, listId) {
  const items = links.map((link, n) =>
    el(
      "li",
      { class: "link" },
      el("strong", { text: `Link ${n + 1}: ${link.records.length} records at ${link.agencies.join(", ")}` }),
      el(
        "ul",
        {},
        ...link.evidence.map((ev) => {
          const refs = [];
          ev.records.forEach(([agency, id], i) => {
            if (i) refs.push(", ");
            refs.push(recordRef(results, agency, id));
          });
          return el("li", {}, el("code", { class: "selector", text: ev.selector }), " is shared by ", ...refs);
        }),
      ),
    ),
  );
  $(listId).replaceChildren(...items);
}

function graphModel(links) {
  const nodes = new Map();
  const edges = new Map();
  const addNode = (agency, id) => {
    const key = recordKey(agency, id);
    if (!nodes.has(key)) nodes.set(key, { key, agency, id });
    return key;
  };
  for (const link of links) {
    for (const [agency, id] of link.records) addNode(agency, id);
    for (const ev of link.evidence) {
      const keys = ev.records.map(([agency, id]) => addNode(agency, id));
      for (let i = 0; i < keys.length; i++) {
        for (let j = i + 1; j < keys.length; j++) {
          const [a, b] = [keys[i], keys[j]].sort();
          const pair = `${a}\u0001${b}`;
          if (!edges.has(pair)) edges.set(pair, { a, b, selectors: new Set() });
          edges.get(pair).selectors.add(ev.selector);
        }
      }
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

// Records in one column per agency, ordered so that linked records sit near each other.
function layoutColumns(nodes, edges, agencies) {
  const columns = new Map(agencies.map((a) => [a, nodes.filter((n) => n.agency === a)]));
  const neighbours = new Map(nodes.map((n) => [n.key, []]));
  for (const { a, b } of edges) {
    if (neighbours.has(a) && neighbours.has(b)) {
      neighbours.get(a).push(b);
      neighbours.get(b).push(a);
    }
  }
  const row = new Map();
  for (const column of columns.values()) column.forEach((n, i) => row.set(n.key, i));
  for (let pass = 0; pass < 4; pass++) {
    for (const column of columns.values()) {
      const centre = (n) => {
        const near = neighbours.get(n.key).filter((k) => !column.some((m) => m.key === k));
        return near.length ? near.reduce((sum, k) => sum + row.get(k), 0) / near.length : row.get(n.key);
      };
      const order = column.map((n) => [centre(n), row.get(n.key), n]);
      order.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      column.splice(0, column.length, ...order.map(([, , n]) => n));
      column.forEach((n, i) => row.set(n.key, i));
    }
  }
  return columns;
}

function drawGraph(links, results, graphId) {
  const box = $(graphId);
  box.replaceChildren();
  if (!links.length) {
    box.append(el("p", { class: "hint", text: "No record found here shares an identifier with a record at another agency." }));
    return;
  }
  const model = graphModel(links);
  const nodes = model.nodes.slice(0, MAX_GRAPH_NODES);
  nodes.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const agencies = [...new Set(nodes.map((n) => n.agency))].sort();
  const columns = layoutColumns(nodes, model.edges, agencies);
  const nodeWidth = 200;
  const gap = agencies.length > 1 ? 250 : 0;
  const margin = 56; // room for arcs between records of one agency
  const rowHeight = 46;
  const top = 42;
  const width = 2 * margin + agencies.length * nodeWidth + (agencies.length - 1) * gap;
  const rows = Math.max(...[...columns.values()].map((c) => c.length));
  const height = top + rows * rowHeight + 12;
  const place = new Map();
  agencies.forEach((agency, col) => {
    const x = margin + col * (nodeWidth + gap) + nodeWidth / 2;
    columns.get(agency).forEach((node, row) => {
      place.set(node.key, { x, y: top + row * rowHeight + rowHeight / 2, col, node });
    });
  });

  const svg = svgEl("svg", {
    class: "graph-svg",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": `${nodes.length} records at ${agencies.length} agencies linked by shared identifiers; the links are listed below.`,
  });
  for (const agency of agencies) {
    const { x } = place.get(columns.get(agency)[0].key);
    svg.append(svgEl("text", { class: "graph-column", x, y: 20, "text-anchor": "middle", fill: colourOf(agency), text: agency }));
  }

  const edgeLayer = svgEl("g", { class: "edges" });
  const labelGroups = new Map(); // one label per identifier between two columns
  for (const edge of model.edges) {
    const a = place.get(edge.a);
    const b = place.get(edge.b);
    if (!a || !b) continue;
    const selectors = [...edge.selectors].sort();
    const tip = `${a.node.agency}/${a.node.id} — ${b.node.agency}/${b.node.id}: ${selectors.join(", ")}`;
    let d;
    if (a.col === b.col) {
      // Two records at one agency: an arc on the outer side of their column.
      const side = a.col === 0 ? -1 : 1;
      const edgeX = a.x + (side * nodeWidth) / 2;
      d = `M ${edgeX} ${a.y} Q ${edgeX + side * 1.4 * margin} ${(a.y + b.y) / 2} ${edgeX} ${b.y}`;
    } else {
      d = `M ${a.x} ${a.y} L ${b.x} ${b.y}`;
    }
    const path = svgEl("path", { class: "edge", d }, svgEl("title", { text: tip }));
    edgeLayer.append(path);
    if (a.col === b.col) continue;
    const text = selectors.length > 1 ? `${shorten(selectors[0], 28)} +${selectors.length - 1}` : shorten(selectors[0], 34);
    const group = `${Math.min(a.col, b.col)}:${Math.max(a.col, b.col)}:${text}`;
    if (!labelGroups.has(group)) labelGroups.set(group, { text, tips: [], segments: [] });
    labelGroups.get(group).tips.push(tip);
    labelGroups.get(group).segments.push([a, b]);
  }
  svg.append(edgeLayer);

  const labelLayer = svgEl("g", { class: "edge-labels" });
  const placed = [];
  for (const { text, tips, segments } of labelGroups.values()) {
    // On the edge nearest the middle of the group, where it does not cover another label.
    const mid = segments.map(([a, b]) => [(a.x + b.x) / 2, (a.y + b.y) / 2]);
    const cx = mid.reduce((sum, m) => sum + m[0], 0) / mid.length;
    const cy = mid.reduce((sum, m) => sum + m[1], 0) / mid.length;
    const order = segments
      .map((segment, i) => [Math.hypot(mid[i][0] - cx, mid[i][1] - cy), segment])
      .sort((x, y) => x[0] - y[0]);
    const halfWidth = text.length * 3.4 + 4;
    let spot = null;
    for (const [, [a, b]] of order) {
      for (const t of [0.5, 0.38, 0.62, 0.28, 0.72]) {
        const x = a.x + (b.x - a.x) * t;
        const y = a.y + (b.y - a.y) * t;
        if (!placed.some((p) => Math.abs(p.x - x) < p.w + halfWidth && Math.abs(p.y - y) < 14)) {
          spot = { x, y, w: halfWidth };
          break;
        }
      }
      if (spot) break;
    }
    if (!spot) continue; // still in every edge's tooltip and in the list below
    placed.push(spot);
    labelLayer.append(
      svgEl(
        "text",
        { class: "edge-label", x: spot.x, y: spot.y + 4, "text-anchor": "middle" },
        svgEl("title", { text: tips.join("\n") }),
        text,
      ),
    );
  }
  svg.append(labelLayer);

  for (const { x, y, node } of place.values()) {
    const hit = findResult(results, node.agency, node.id);
    const group = svgEl("g", { class: `node${hit ? " clickable" : ""}`, "data-agency": node.agency, "data-record": node.id });
    group.append(
      svgEl("title", { text: `${node.agency}/${node.id}${hit ? " — select to open" : ""}` }),
      svgEl("rect", {
        x: x - nodeWidth / 2,
        y: y - 15,
        width: nodeWidth,
        height: 30,
        rx: 15,
        fill: "#ffffff",
        stroke: colourOf(node.agency),
        "stroke-width": 2.5,
      }),
      svgEl("circle", { cx: x - nodeWidth / 2 + 15, cy: y, r: 6, fill: colourOf(node.agency) }),
      svgEl("text", { class: "node-label", x: x - nodeWidth / 2 + 28, y: y + 4, text: shorten(`${node.agency}/${node.id}`, 26) }),
    );
    if (hit) group.addEventListener("click", () => openDetail(hit, resultElement(node.agency, node.id)));
    svg.append(group);
  }
  box.append(svg);
  if (model.nodes.length > nodes.length) {
    box.append(el("p", { class: "hint", text: `The graph shows ${nodes.length} of ${model.nodes.length} records; the list below has them all.` }));
  }
}
