// The agencies of the answer shown: one colour each (kept for the whole session, so an
// agency keeps its colour from one search to the next), their contacts, their status chips.

import { $, el } from "./dom.js";

const STATUS_ICON = { ok: "✓", partial: "◐", timeout: "⏱", unavailable: "✕", rejected: "⊘", error: "!" };
// Colours told apart by most colour-blind readers (Okabe and Ito); text always says the same.
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#666666"];

const colours = new Map();
let answered = []; // the agencies' statuses in the answer shown

export function colourOf(agency) {
  if (!colours.has(agency)) {
    colours.set(agency, PALETTE[colours.size % PALETTE.length]);
  }
  return colours.get(agency);
}

export function agencyTag(agency) {
  const dot = el("span", { class: "dot", "aria-hidden": "true" });
  dot.style.backgroundColor = colourOf(agency);
  return el("span", { class: "agency-tag" }, dot, agency);
}

export function contactFor(agency) {
  const info = answered.find((a) => a.agency === agency);
  return info && info.contact ? `${agency} (${info.contact})` : agency;
}

// Keeps the answer's agencies (colours handed out in name order) and shows their chips.
export function showAgencies(agencies) {
  answered = agencies;
  for (const agency of [...agencies.map((a) => a.agency)].sort()) colourOf(agency);
  $("agencies").replaceChildren(...agencies.map(chip));
}

function chip(a) {
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
  const item = el(
    "li",
    { class: `chip status-${status}`, title: details.join("\n"), "data-agency": a.agency },
    el("span", { class: "chip-icon", "aria-hidden": "true", text: STATUS_ICON[status] }),
    el("span", { class: "chip-agency", text: a.agency }),
    el("span", { class: "chip-status", text: a.status }),
  );
  if (a.status === "ok" || a.status === "partial") {
    item.append(el("span", { class: "chip-count", text: `${a.total_hits} found` }));
  }
  if (a.status !== "ok" && a.reason) {
    item.append(el("span", { class: "chip-reason", text: a.reason }));
  }
  if (a.withheld_hits) {
    item.append(
      el("span", { class: "chip-withheld", text: `${a.withheld_hits} withheld` }),
      el("span", { class: "chip-contact", text: `contact: ${a.contact || a.agency}` }),
    );
  }
  return item;
}
