// The case report: the gateway's JSON export of the case laid out as a document on the page
// (the print stylesheet in cases.css prints only it) and the browser's print dialog; or the
// gateway's own printable HTML report, or the JSON export, saved as a file.

import { agencyTag } from "./agencies.js";
import { call, fetchBlob } from "./api.js";
import { casePath, explain, selectorText, when } from "./cases-api.js";
import { $, el } from "./dom.js";
import { humanKey, readable, typeLabel } from "./format.js";

function table(caption, head, rows) {
  return el(
    "table",
    { class: "report-table" },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((v) => el("td", {}, v))))),
  );
}

// A released record as "Field › Inner: value" lines (nested objects flattened).
function recordLines(value, label, out) {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) out.push([label, value.map(readable).join(", ")]);
    else value.forEach((v, i) => recordLines(v, `${label} ${i + 1}`, out));
  } else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) recordLines(inner, label ? `${label} › ${humanKey(key)}` : humanKey(key), out);
  } else {
    out.push([label, readable(value)]);
  }
  return out;
}

function hitSection(lead) {
  const hit = lead.content || {};
  const ids = [...new Set([...(hit.selectors || []), ...(hit.matched_selectors || [])].map(selectorText))];
  const section = el(
    "section",
    { class: "report-hit" },
    el("h4", {}, agencyTag(lead.agency), ` / ${lead.record_id} — ${typeLabel(hit.type || "record")}, ${hit.disclosure || "summary"}`),
    el("p", { class: "hint", text: `Pinned by ${lead.added_by}, ${when(lead.added)}. Identifiers: ${ids.join(", ") || "none released"}` }),
  );
  if (hit.title) section.append(el("p", { text: hit.title }));
  if (hit.record) {
    const lines = recordLines(hit.record, "", []);
    section.append(el("dl", { class: "report-record" }, ...lines.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])));
  } else {
    section.append(el("p", { class: "hint", text: "Only a summary was released when it was pinned." }));
  }
  return section;
}

function alertRow(a) {
  const hit = (a.content && a.content.hit) || {};
  const matched = (hit.matched_selectors || []).map(selectorText).join(", ");
  return [when(a.received), a.agency, a.disclosure, a.record_id || `contact ${a.agency}`, matched];
}

export function buildReport(c) {
  const byKind = (kind) => c.leads.filter((l) => l.kind === kind);
  const close = el("button", { type: "button", class: "secondary no-print", text: "Close report" });
  close.addEventListener("click", () => {
    $("case-report").hidden = true;
  });
  const print = el("button", { type: "button", class: "primary no-print", text: "Print" });
  print.addEventListener("click", () => window.print());
  const alerts = c.alerts || [];
  const parts = [
    el("div", { class: "report-actions no-print" }, print, close),
    el("h1", { text: `Case report: ${c.reference}` }),
    el("p", { class: "report-title", text: c.title }),
    el("p", { class: "hint", text: `printed ${new Date().toLocaleString()} · version ${c.version}` }),
    table("The case", ["Status", "Lead officer", "Members", "Opened", "Changed", "Watched until"], [
      [c.status, c.lead_officer, c.members.join(", "), when(c.created), when(c.updated), when(c.watched_until)],
    ]),
    el("h2", { text: "Pinned hits" }),
    ...byKind("hit").map(hitSection),
    el("h2", { text: "Selectors of interest" }),
    table("Selectors", ["Selector", "Added"], byKind("selector").map((l) => [l.selector, `${l.added_by}, ${when(l.added)}`])),
    el("h2", { text: "Saved searches" }),
    table("Searches", ["Name", "Identifiers", "Text", "Added"], byKind("search").map((l) => {
      const q = (l.content && l.content.query) || {};
      return [(l.content && l.content.name) || "search", (q.selectors || []).join(", "), q.text || "", `${l.added_by}, ${when(l.added)}`];
    })),
    el("h2", { text: "Alerts from partners" }),
    table("Alerts", ["Received", "Agency", "Released", "Record", "Matched"], alerts.map(alertRow)),
    el("h2", { text: "Notes" }),
    ...c.notes.map((n) => el("div", { class: "report-note" }, el("p", { class: "hint", text: `${n.author}, ${when(n.written)}` }), el("p", { class: "note-text", text: n.text }))),
    el("h2", { text: "Timeline" }),
    table("What happened", ["When", "Who", "What"], c.timeline.map((e) => [when(e.at), e.officer === "-" ? "a partner" : e.officer, e.what])),
  ];
  $("case-report").replaceChildren(...parts);
  $("case-report").hidden = false;
}

export async function printReport(reference) {
  let report;
  try {
    report = await call("GET", casePath(reference, "/report?format=json"));
  } catch (failure) {
    explain(failure, "The report could not be made");
    return;
  }
  buildReport(report);
  window.print();
}

// Saves the gateway's printable HTML report (or, with json, the JSON export) as a file.
export async function downloadReport(reference, format = "html") {
  let blob;
  try {
    blob = await fetchBlob(casePath(reference, `/report?format=${format}`));
  } catch (failure) {
    explain(failure, "The report could not be made");
    return;
  }
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: `case-${reference.replace(/[^A-Za-z0-9._-]/g, "_")}.${format}`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
