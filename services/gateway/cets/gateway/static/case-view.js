// One case: its title and members, its pinned hits and the links among them (graph.js), its
// selectors of interest and the watch on them, saved searches, notes, alerts and timeline,
// and what an officer can do there. Closing sends the version shown: a stale one is refused
// (the gateway says why) and the case is shown again as it is now.

import { agencyTag } from "./agencies.js";
import { alertItem } from "./alerts.js";
import { call } from "./api.js";
import { downloadReport, printReport } from "./case-report.js";
import { linkPinned } from "./case-links.js";
import { casePath, explain, selectorText, when } from "./cases-api.js";
import { openDetail } from "./detail.js";
import { $, el, hideAlert } from "./dom.js";
import { typeLabel } from "./format.js";
import { showLinks } from "./graph.js";

let shown = null; // the case on screen, as the gateway last sent it
let toSearchView = () => {};
const whenChanged = [];

export function currentCase() {
  return shown;
}

export function onCaseChanged(callback) {
  whenChanged.push(callback);
}

export function setSearchView(show) {
  toSearchView = show;
}

export async function openCase(reference) {
  showCase(await call("GET", casePath(reference)));
}

export function clearCase() {
  shown = null;
  $("case").hidden = true;
  $("case-report").hidden = true;
  $("case-report").replaceChildren();
}

let wired = false;

function wire() {
  if (wired) return;
  wired = true;
  $("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("note-text").value;
    change("The note was not added", "POST", "/notes", { text }, () => {
      $("note-text").value = "";
    });
  });
  $("selector-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const selector = $("selector-value").value.trim();
    change("The selector was not added", "POST", "/leads", { kind: "selector", selector }, () => {
      $("selector-value").value = "";
    });
  });
  $("watch-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!shown) return;
    hideAlert();
    const reference = shown.reference;
    const button = $("watch-button");
    button.disabled = true;
    try {
      const answer = await call("POST", casePath(reference, "/watch"), { purpose: $("watch-purpose").value });
      $("watch-outcome").replaceChildren(
        ...Object.entries(answer.agencies).map(([agency, s]) =>
          el("li", { "data-agency": agency }, agencyTag(agency), ` ${s.status}${s.reason ? `: ${s.reason}` : ""}`),
        ),
      );
      await openCase(reference);
    } catch (failure) {
      explain(failure, "The watch was not set");
    } finally {
      button.disabled = false;
    }
    for (const callback of whenChanged) callback();
  });
  $("case-close").addEventListener("click", () => {
    if (shown && shown.status === "open") change("The case was not closed", "POST", "/close", { version: shown.version });
  });
  $("case-search").addEventListener("click", () => {
    if (!shown) return;
    $("q-case").value = shown.reference;
    toSearchView();
    $("q-text").focus();
  });
  $("case-print").addEventListener("click", () => {
    if (shown) printReport(shown.reference);
  });
  $("case-download").addEventListener("click", () => {
    if (shown) downloadReport(shown.reference);
  });
}

// Sends one change and shows the case as the gateway answers it.
async function change(doing, method, rest, body, done) {
  if (!shown) return;
  hideAlert();
  const reference = shown.reference;
  try {
    showCase(await call(method, casePath(reference, rest), body));
    if (done) done();
  } catch (failure) {
    explain(failure, doing);
    if (failure.status === 409) {
      try {
        await openCase(reference); // show what the case is now
      } catch {
        // the message line already says what went wrong
      }
    }
  }
  for (const callback of whenChanged) callback();
}

function removeButton(lead, what) {
  const button = el("button", { type: "button", class: "link-button remove", text: `Remove ${what}` });
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    change(`The ${what} was not removed`, "DELETE", `/leads/${lead.id}`);
  });
  return button;
}

// The alerts of the case shown changed: show it again (the gateway has them on the case).
export async function reloadIfAlerted(alerts) {
  if (!shown || !alerts.some((a) => a.case_reference === shown.reference)) return;
  try {
    await openCase(shown.reference);
  } catch {
    // shown again at the next change
  }
}

export function showCase(c) {
  wire();
  if (c.alerts === undefined) {
    // a change answers with the case without its alerts: keep those shown
    c = { ...c, alerts: shown && shown.reference === c.reference ? shown.alerts : [] };
  }
  shown = c;
  $("case").hidden = false;
  $("case").dataset.reference = c.reference;
  $("case-title").textContent = `${c.reference} — ${c.title}`;
  const watched = c.watched_until ? ` · watched at every partner until ${when(c.watched_until)}` : "";
  $("case-meta").replaceChildren(
    el("span", { class: `status status-${c.status === "open" ? "open" : "closed"}`, text: c.status }),
    ` · lead ${c.lead_officer} · members ${c.members.join(", ")} · version ${c.version} · changed ${when(c.updated)}${watched}`,
  );
  const editable = c.status === "open";
  $("case-close").hidden = !editable;
  for (const id of ["note-form", "selector-form", "watch-form"]) $(id).hidden = !editable;

  const hits = c.leads.filter((l) => l.kind === "hit");
  const pinned = hits.map((l) => ({ ...l.content, agency: l.agency, record_id: l.record_id }));
  const selectors = c.leads.filter((l) => l.kind === "selector");
  const interest = new Set(selectors.map((l) => l.selector));
  $("case-hits").replaceChildren(
    ...(hits.length ? hits.map((l, i) => hitItem(l, pinned[i], editable, interest)) : [el("li", { class: "empty", text: "No hit pinned yet: add results from a search." })]),
  );
  showLinks(linkPinned(pinned), pinned, { graph: "case-graph", list: "case-links" });

  $("case-selectors").replaceChildren(
    ...(selectors.length ? selectors.map((l) => selectorItem(l, editable)) : [el("li", { class: "empty", text: "None yet: add one, or watch an identifier of a pinned hit." })]),
  );
  $("watch-button").disabled = !selectors.length;
  const searches = c.leads.filter((l) => l.kind === "search");
  $("case-searches").replaceChildren(
    ...(searches.length ? searches.map((l) => searchItem(l, editable)) : [el("li", { class: "empty", text: "None yet: save one from the search view." })]),
  );
  $("case-notes").replaceChildren(
    ...(c.notes.length
      ? c.notes.map((n) => el("li", { class: "note" }, el("div", { class: "hint", text: `${n.author} · ${when(n.written)}` }), el("p", { class: "note-text", text: n.text })))
      : [el("li", { class: "empty", text: "No notes yet." })]),
  );
  const alerts = c.alerts;
  $("case-alerts").replaceChildren(
    ...(alerts.length
      ? alerts.map((a) => alertItem(a))
      : [el("li", { class: "empty", text: "No alerts. A watch on the selectors of interest reports here." })]),
  );
  $("case-timeline").replaceChildren(...c.timeline.map(eventItem));
}

function eventItem(e) {
  const d = e.detail || {};
  let about = "";
  if (e.what === "searched" && d.purpose) about = ` (${d.purpose})`;
  else if (e.what === "lead added") about = d.selector ? ` ${d.selector}` : d.agency ? ` ${d.kind} ${d.agency}/${d.record}` : ` ${d.kind}`;
  else if (e.what === "alert") about = ` from ${d.agency}`;
  else if (e.what.startsWith("release ")) about = ` at ${d.agency}${d.level ? ` (${d.level})` : ""}`;
  else if (e.what === "watch set") about = ` on ${d.selectors} selector${d.selectors === 1 ? "" : "s"}`;
  const who = e.officer === "-" ? "a partner" : e.officer;
  return el("li", { class: "event" }, el("time", { datetime: e.at, text: when(e.at) }), ` ${who}: ${e.what}${about}`);
}

function hitItem(lead, hit, editable, interest) {
  const item = el(
    "li",
    { class: "result pinned-hit", "data-agency": hit.agency, "data-record": hit.record_id },
    el(
      "div",
      { class: "result-head" },
      agencyTag(hit.agency),
      el("span", { class: "type-tag", text: typeLabel(hit.type || "record") }),
      el("span", { class: `badge badge-${hit.disclosure === "full" ? "full" : "summary"}`, text: hit.disclosure || "summary" }),
      el("span", { class: "created", text: `pinned by ${lead.added_by} · ${when(lead.added)}` }),
    ),
    el("button", { type: "button", class: "result-title", text: hit.title || `${hit.agency}/${hit.record_id}` }),
  );
  const ids = [...new Set([...(hit.selectors || []), ...(hit.matched_selectors || [])].map(selectorText))];
  if (editable && ids.length) {
    const row = el("div", { class: "matched" }, el("span", { class: "label", text: "Identifiers: " }));
    for (const selector of ids) {
      row.append(el("code", { class: "selector", text: selector }));
      if (interest.has(selector)) continue;
      const add = el("button", { type: "button", class: "link-button interest", "aria-label": `Add ${selector} to the selectors of interest`, text: "+ interest" });
      add.addEventListener("click", (event) => {
        event.stopPropagation();
        change("The selector was not added", "POST", "/leads", { kind: "selector", selector });
      });
      row.append(add, " ");
    }
    item.append(row);
  }
  if (editable) item.append(removeButton(lead, "hit"));
  if (hit.selectors) item.addEventListener("click", () => openDetail(hit, null));
  return item;
}

function selectorItem(lead, editable) {
  const search = el("button", { type: "button", class: "link-button", text: "Search every agency" });
  search.addEventListener("click", () => fillSearch({ selectors: [lead.selector] }));
  return el(
    "li",
    {},
    el("code", { class: "selector", text: lead.selector }),
    " ",
    search,
    editable ? removeButton(lead, "selector") : null,
  );
}

function searchItem(lead, editable) {
  const saved = lead.content || {};
  const q = saved.query || {};
  const run = el("button", { type: "button", class: "link-button", text: "Run again" });
  run.addEventListener("click", () => fillSearch(q, saved.purpose));
  const words = [...(q.selectors || []), q.text ? `"${q.text}"` : null, q.name ? `name ${q.name}` : null].filter(Boolean);
  return el(
    "li",
    {},
    el("strong", { text: saved.name || "search" }),
    ` — ${words.join("; ")} `,
    run,
    editable ? removeButton(lead, "search") : null,
  );
}

// Puts a query in the search form under this case's reference and goes to the search view.
function fillSearch(query, purpose) {
  $("q-text").value = query.text || "";
  $("q-selectors").value = (query.selectors || []).join("\n");
  $("q-name").value = query.name || "";
  for (const box of document.querySelectorAll("#types input")) box.checked = (query.types || []).includes(box.value);
  if (purpose) $("q-purpose").value = purpose;
  $("q-case").value = shown.reference;
  toSearchView();
  if ($("q-purpose").value.trim()) $("search-form").requestSubmit();
  else $("q-purpose").focus();
}
