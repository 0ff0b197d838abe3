// The record panel: one result in full (or the notice that only a summary was released),
// the pivot button's state, and giving focus back to the result it was opened from.

import { contactFor } from "./agencies.js";
import { $, el, visible } from "./dom.js";
import { humanKey, readable, typeLabel } from "./format.js";

let selected = null; // the result shown in the panel
let opener = null; // what to focus again when the panel closes
let searching = false; // no pivot while a search runs

export function selectedRecord() {
  return selected;
}

// What a pivot searches for: the record's identifiers, or, when only a summary was released,
// the identifiers it matched (a summary lists no others).
export function pivotSelectors(hit) {
  return hit.selectors.length ? hit.selectors : hit.matched_selectors;
}

// A search started or ended: the pivot button waits for it.
export function setSearching(busy) {
  searching = busy;
  $("pivot").disabled = busy || !(selected && pivotSelectors(selected).length);
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

// Opens the panel on a result; item is its row in the results list, if it has one.
export function openDetail(hit, item) {
  selected = hit;
  for (const other of document.querySelectorAll(".result.selected")) other.classList.remove("selected");
  if (item) item.classList.add("selected");
  $("detail-title").textContent = visible(`${hit.agency}/${hit.record_id}`);
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
  const canPivot = pivotSelectors(hit).length > 0;
  $("pivot").disabled = searching || !canPivot;
  $("pivot-note").hidden = canPivot;
  opener = item ? item.querySelector(".result-title") : null;
  $("detail").hidden = false;
  document.dispatchEvent(new CustomEvent("cets:detail", { detail: hit })); // releases.js adds to it
  $("detail-close").focus();
}

export function closeDetail() {
  const wasOpen = !$("detail").hidden;
  $("detail").hidden = true;
  selected = null;
  for (const other of document.querySelectorAll(".result.selected")) other.classList.remove("selected");
  if (wasOpen && opener && opener.isConnected) opener.focus();
  opener = null;
}

export function isDetailOpen() {
  return !$("detail").hidden;
}
