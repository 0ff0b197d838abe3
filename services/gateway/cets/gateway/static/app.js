// The officers' page: sign in with a token, search every partner agency, read the merged
// list, see which records at different agencies share an identifier, pivot on a record.
//
// Safety rules kept throughout: every value from the gateway reaches the page as text
// (textContent, createTextNode, setAttribute), never as markup; there are no inline event
// handlers or inline styles, so the page runs under a strict Content-Security-Policy; the
// officer's token lives in sessionStorage only (gone when the tab closes), never in the URL.
"use strict";

(() => {
  const TOKEN_KEY = "cets.officer-token";
  const TYPES = [
    ["person", "Person"],
    ["online_identity", "Online identity"],
    ["phone", "Phone"],
    ["payment_card", "Payment card"],
    ["card_transaction", "Card transaction"],
    ["chat_message", "Chat message"],
    ["arrest", "Arrest"],
    ["case_note", "Case note"],
    ["tip", "Tip"],
    ["media_hash", "Media hash"],
  ];
  const STATUS_ICON = { ok: "✓", timeout: "⏱", unavailable: "✕", rejected: "⊘", error: "!" };
  // Colours told apart by most colour-blind readers (Okabe and Ito); text always says the same.
  const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#666666"];
  const SVG_NS = "http://www.w3.org/2000/svg";
  const MAX_GRAPH_NODES = 80;

  const state = {
    request: null, // {path, body} of the search shown, for "More results" and pivots
    nextCursor: null,
    results: [],
    agencies: [],
    links: [],
    colours: new Map(),
    selected: null,
    opener: null, // what to focus again when the record panel closes
    busy: false,
  };

  const $ = (id) => document.getElementById(id);

  // --- building DOM without markup -------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  }

  function svgEl(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.setAttribute("class", value);
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
  }

  const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

  function decodeEntities(text) {
    return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name) => {
      if (name[0] === "#") {
        const code = name[1] === "x" || name[1] === "X"
          ? parseInt(name.slice(2), 16)
          : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      const known = ENTITIES[name.toLowerCase()];
      return known === undefined ? whole : known;
    });
  }

  // A highlight fragment arrives HTML-escaped except for <mark> and </mark>. Only those two
  // tags become elements; everything else becomes plain text (entities decoded back to the
  // characters they stand for), so nothing in a record can ever turn into markup.
  function highlightNodes(fragment) {
    const out = document.createDocumentFragment();
    let mark = null;
    for (const part of String(fragment).split(/(<mark>|<\/mark>)/)) {
      if (part === "<mark>") {
        mark = document.createElement("mark");
        out.append(mark);
      } else if (part === "</mark>") {
        mark = null;
      } else if (part) {
        (mark || out).append(document.createTextNode(decodeEntities(part)));
      }
    }
    return out;
  }

  // --- alert and busy state --------------------------------------------------------------

  function showAlert(message) {
    $("alert-text").textContent = message;
    $("alert").hidden = false;
  }

  function hideAlert() {
    $("alert").hidden = true;
    $("alert-text").textContent = "";
  }

  function setBusy(busy, label) {
    state.busy = busy;
    const button = $("search-button");
    button.disabled = busy;
    button.textContent = busy ? label || "Searching…" : "Search all agencies";
    $("more").disabled = busy;
    $("pivot").disabled = busy || !(state.selected && state.selected.selectors.length);
    $("answer").setAttribute("aria-busy", busy ? "true" : "false");
  }

  // --- the officer's token ---------------------------------------------------------------

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  // What the token says about its holder, for display only: the gateway verifies it.
  function describeToken(value) {
    try {
      const part = value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const claims = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
      const who = `Signed in as ${claims.sub} (${claims.iss})`;
      if (typeof claims.exp !== "number") return who;
      const until = new Date(claims.exp * 1000);
      return `${who} · token valid until ${until.toLocaleString()}`;
    } catch {
      return "Signed in";
    }
  }

  function showSignedIn() {
    const value = token();
    $("sign-in").hidden = Boolean(value);
    $("workspace").hidden = !value;
    $("who").hidden = !value;
    $("who-text").textContent = value ? describeToken(value) : "";
    if (!value) $("token").focus();
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    closeDetail();
    state.request = null;
    state.results = [];
    $("answer-body").hidden = true;
    $("placeholder").hidden = false;
    showSignedIn();
  }

  // --- talking to the gateway ------------------------------------------------------------

  class ApiFailure extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function post(path, body) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${token() || ""}`,
        },
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new ApiFailure("The gateway cannot be reached. Check the connection and try again.", 0);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const reason = data && typeof data.error === "string"
        ? data.error
        : `the gateway answered with status ${response.status}`;
      throw new ApiFailure(reason, response.status);
    }
    return data;
  }

  async function run(path, body, { append = false, pivotFrom = null } = {}) {
    if (state.busy) return;
    hideAlert();
    setBusy(true, append ? "Loading…" : "Searching…");
    try {
      const answer = await post(path, body);
      state.request = { path, body: { ...body, cursor: undefined } };
      show(answer, append);
      if (!append) showPivotBanner(pivotFrom, body);
    } catch (failure) {
      if (!(failure instanceof ApiFailure)) throw failure;
      if (failure.status === 401) {
        signOut();
        showAlert(`Sign-in refused: ${failure.message}. Paste a valid token to sign in again.`);
      } else {
        showAlert(`The search was refused: ${failure.message}`);
      }
    } finally {
      setBusy(false);
    }
  }

  function readSearchForm() {
    const selectors = $("q-selectors").value
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
    const types = [...document.querySelectorAll("#types input:checked")].map((c) => c.value);
    return {
      query: { text: $("q-text").value, selectors, name: $("q-name").value, types },
      purpose: $("q-purpose").value,
      case_reference: $("q-case").value,
    };
  }

  // --- showing an answer -----------------------------------------------------------------

  function colourOf(agency) {
    if (!state.colours.has(agency)) {
      state.colours.set(agency, PALETTE[state.colours.size % PALETTE.length]);
    }
    return state.colours.get(agency);
  }

  function show(answer, append) {
    state.agencies = answer.agencies;
    state.links = answer.links;
    state.results = append ? [...state.results, ...answer.results] : answer.results;
    state.nextCursor = answer.next_cursor;
    for (const agency of [...answer.agencies.map((a) => a.agency)].sort()) colourOf(agency);
    if (!append) closeDetail();

    $("placeholder").hidden = true;
    $("answer-body").hidden = false;
    drawAgencies(answer.agencies);
    if (append) {
      for (const hit of answer.results) $("results").append(resultItem(hit));
    } else {
      $("results").replaceChildren(...answer.results.map(resultItem));
    }
    const count = state.results.length;
    $("results-count").textContent =
      `${count} shown · ${answer.took_ms} ms${state.nextCursor ? " · more available" : ""}`;
    if (!count) {
      $("results").append(el("li", { class: "empty", text: "No records were found or released." }));
    }
    $("more").hidden = !state.nextCursor;
    drawGraph(answer.links);
    listLinks(answer.links);
  }

  function showPivotBanner(from, body) {
    const banner = $("pivot-banner");
    if (!from) {
      banner.hidden = true;
      banner.replaceChildren();
      return;
    }
    banner.replaceChildren(
      el("strong", { text: `Pivot from ${from.agency}/${from.record_id}` }),
      ` — every agency searched for: ${body.selectors.join(", ")}`,
    );
    banner.hidden = false;
  }

  function drawAgencies(agencies) {
    const chips = agencies.map((a) => {
      const details = [
        `${a.agency}: ${a.status}`,
        a.reason ? `reason: ${a.reason}` : null,
        `${a.latency_ms} ms`,
        `${a.total_hits} found`,
        a.withheld_hits ? `${a.withheld_hits} withheld` : null,
        a.disclosure ? `disclosure: ${a.disclosure}` : null,
        a.contact ? `contact: ${a.contact}` : null,
      ].filter(Boolean);
      const status = Object.hasOwn(STATUS_ICON, a.status) ? a.status : "error";
      const chip = el(
        "li",
        { class: `chip status-${status}`, title: details.join("\n"), "data-agency": a.agency },
        el("span", { class: "chip-icon", "aria-hidden": "true", text: STATUS_ICON[status] }),
        el("span", { class: "chip-agency", text: a.agency }),
        el("span", { class: "chip-status", text: a.status }),
      );
      if (a.status === "ok") {
        chip.append(el("span", { class: "chip-count", text: `${a.total_hits} found` }));
      } else if (a.reason) {
        chip.append(el("span", { class: "chip-reason", text: a.reason }));
      }
      if (a.withheld_hits) {
        chip.append(
          el("span", { class: "chip-withheld", text: `${a.withheld_hits} withheld` }),
          el("span", { class: "chip-contact", text: `contact: ${a.contact || a.agency}` }),
        );
      }
      return chip;
    });
    $("agencies").replaceChildren(...chips);
  }

  function agencyTag(agency) {
    const dot = el("span", { class: "dot", "aria-hidden": "true" });
    dot.style.backgroundColor = colourOf(agency);
    return el("span", { class: "agency-tag" }, dot, agency);
  }

  function contactFor(agency) {
    const info = state.agencies.find((a) => a.agency === agency);
    return info && info.contact ? `${agency} (${info.contact})` : agency;
  }

  function titleOf(hit) {
    if (hit.title) return hit.title;
    if (hit.disclosure !== "full") return `summary only — contact ${contactFor(hit.agency)}`;
    return `${typeLabel(hit.type)} ${hit.record_id}`;
  }

  function typeLabel(type) {
    const known = TYPES.find(([value]) => value === type);
    return known ? known[1] : type.replace(/_/g, " ");
  }

  function resultItem(hit) {
    const disclosure = hit.disclosure === "full" ? "full" : "summary";
    const open = el("button", {
      type: "button",
      class: `result-title${hit.title ? "" : " muted"}`,
      text: titleOf(hit),
    });
    const item = el(
      "li",
      { class: "result", "data-agency": hit.agency, "data-record": hit.record_id },
      el(
        "div",
        { class: "result-head" },
        el("span", { class: "rank", title: "Rank in the merged list", text: `#${hit.rank}` }),
        agencyTag(hit.agency),
        el("span", { class: "type-tag", text: typeLabel(hit.type) }),
        el("span", {
          class: `badge badge-${disclosure}`,
          title: disclosure === "full" ? "The full record was released" : "Only a summary was released",
          text: disclosure,
        }),
        hit.exact ? el("span", { class: "exact", text: "exact identifier match" }) : null,
        hit.created ? el("span", { class: "created", text: hit.created.slice(0, 10) }) : null,
      ),
      open,
    );
    if (hit.matched_selectors.length) {
      item.append(
        el(
          "div",
          { class: "matched" },
          el("span", { class: "label", text: "Matched: " }),
          ...hit.matched_selectors.map((s) => el("code", { class: "selector", text: s })),
        ),
      );
    }
    const fields = Object.keys(hit.highlights || {}).sort();
    if (fields.length) {
      const list = el("dl", { class: "highlights" });
      for (const field of fields) {
        const dd = el("dd");
        hit.highlights[field].forEach((fragment, i) => {
          if (i) dd.append(" … ");
          dd.append(highlightNodes(fragment));
        });
        list.append(el("dt", { text: field.replace(/_/g, " ") }), dd);
      }
      item.append(list);
    }
    item.addEventListener("click", () => openDetail(hit, item));
    return item;
  }

  // --- record detail and pivot -----------------------------------------------------------

  function humanKey(key) {
    const words = key.replace(/_/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  const ENUM_PREFIXES = [
    ["RECORD_TYPE_", (rest) => typeLabel(rest.toLowerCase())],
    ["SELECTOR_KIND_", (rest) => rest.toLowerCase()],
    ["HANDLING_", (rest) => rest.replace(/_/g, " ")],
  ];

  function readable(value) {
    if (typeof value !== "string") return value === null ? "" : String(value);
    for (const [prefix, render] of ENUM_PREFIXES) {
      if (value.startsWith(prefix)) return render(value.slice(prefix.length));
    }
    return value;
  }

  // A released record as rows of [label, text]: the envelope's fields not shown above, then
  // the body's; nested objects become "Outer › Inner" labels.
  function recordRows(record) {
    const rows = [];
    const shown = new Set(["agency", "record_id", "type", "created"]);
    for (const [part, content] of Object.entries(record)) {
      if (part === "envelope" && content && typeof content === "object") {
        const rest = Object.fromEntries(Object.entries(content).filter(([k]) => !shown.has(k)));
        flatten(rest, "", rows);
      } else {
        flatten(content, "", rows);
      }
    }
    return rows;
  }

  function flatten(value, label, rows) {
    if (Array.isArray(value)) {
      if (value.every((v) => v === null || typeof v !== "object")) {
        rows.push([label, value.map(readable).join(", ")]);
      } else {
        value.forEach((v, i) => flatten(v, `${label} ${i + 1}`, rows));
      }
    } else if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) {
        flatten(inner, label ? `${label} › ${humanKey(key)}` : humanKey(key), rows);
      }
    } else {
      rows.push([label, readable(value)]);
    }
    return rows;
  }

  function table(rows, caption) {
    return el(
      "table",
      { class: "kv" },
      el("caption", { text: caption }),
      el("tbody", {}, ...rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v })))),
    );
  }

  function openDetail(hit, item) {
    state.selected = hit;
    for (const other of document.querySelectorAll(".result.selected")) other.classList.remove("selected");
    if (item) item.classList.add("selected");
    $("detail-title").textContent = `${hit.agency}/${hit.record_id}`;
    const about = [
      ["Agency", hit.agency],
      ["Record id", hit.record_id],
      ["Type", typeLabel(hit.type)],
      ["Disclosure", hit.disclosure],
      ["Created", hit.created || ""],
      ["Identifiers", hit.selectors.join(", ")],
      ["Matched", hit.matched_selectors.join(", ")],
    ].filter(([, v]) => v);
    const body = [table(about, "About this result")];
    if (hit.record) {
      body.push(table(recordRows(hit.record), "The record as released"));
    } else {
      body.push(
        el("p", {
          class: "notice",
          text: `Only a summary was released. For the full record, contact ${contactFor(hit.agency)}.`,
        }),
      );
    }
    $("detail-body").replaceChildren(...body);
    const canPivot = hit.selectors.length > 0;
    $("pivot").disabled = state.busy || !canPivot;
    $("pivot-note").hidden = canPivot;
    state.opener = item ? item.querySelector(".result-title") : null;
    $("detail").hidden = false;
    $("detail-close").focus();
  }

  function closeDetail() {
    const wasOpen = !$("detail").hidden;
    $("detail").hidden = true;
    state.selected = null;
    for (const other of document.querySelectorAll(".result.selected")) other.classList.remove("selected");
    if (wasOpen && state.opener && state.opener.isConnected) state.opener.focus();
    state.opener = null;
  }

  function pivot() {
    const hit = state.selected;
    if (!hit || !hit.selectors.length || !state.request) return;
    const why = state.request.body;
    run(
      "/v1/pivot",
      { selectors: hit.selectors, purpose: why.purpose, case_reference: why.case_reference },
      { pivotFrom: hit },
    );
  }

  // --- links: a graph and the same as a list ---------------------------------------------

  function recordKey(agency, id) {
    return `${agency}\u0000${id}`;
  }

  function findResult(agency, id) {
    return state.results.find((r) => r.agency === agency && r.record_id === id);
  }

  function recordRef(agency, id) {
    const hit = findResult(agency, id);
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

  function listLinks(links) {
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
              refs.push(recordRef(agency, id));
            });
            return el("li", {}, el("code", { class: "selector", text: ev.selector }), " is shared by ", ...refs);
          }),
        ),
      ),
    );
    $("links").replaceChildren(...items);
  }

  function shorten(text, max) {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
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

  function drawGraph(links) {
    const box = $("graph");
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
      const hit = findResult(node.agency, node.id);
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

  // --- wiring ----------------------------------------------------------------------------

  function init() {
    $("types").replaceChildren(
      ...TYPES.map(([value, label]) =>
        el("label", { class: "check" }, el("input", { type: "checkbox", value }), label),
      ),
    );

    $("sign-in-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("token").value.trim().replace(/^Bearer\s+/i, "");
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      $("token").value = "";
      hideAlert();
      showSignedIn();
      $("q-text").focus();
    });
    $("sign-out").addEventListener("click", () => {
      hideAlert();
      signOut();
    });
    $("alert-close").addEventListener("click", hideAlert);

    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      run("/v1/search", readSearchForm());
    });
    $("more").addEventListener("click", () => {
      if (!state.request || !state.nextCursor) return;
      run(state.request.path, { ...state.request.body, cursor: state.nextCursor }, { append: true });
    });
    $("detail-close").addEventListener("click", closeDetail);
    $("pivot").addEventListener("click", pivot);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !$("detail").hidden) closeDetail();
    });
    showSignedIn();
  }

  init();
})();
