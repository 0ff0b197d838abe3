// Searching: the search form, running a search or a pivot (busy state, refusals shown to
// the officer), the answer's merged results list with its highlights, and paging through it
// with "More results".

import { agencyTag, contactFor, showAgencies } from "./agencies.js";
import { ApiFailure, post } from "./api.js";
import { pinButton } from "./case-pin.js";
import { closeDetail, openDetail, pivotSelectors, setSearching } from "./detail.js";
import { $, el, hideAlert, highlightNodes, showAlert } from "./dom.js";
import { TYPES, cardDigits, selectorLabel, selectorTitle, typeLabel } from "./format.js";
import { showLinks } from "./graph.js";
import { distanceText, imageQuery } from "./images.js";
import { signOut } from "./session.js";

let request = null; // {path, body} of the search shown, for "More results" and pivots
let nextCursor = null;
let results = [];
let digits = new Map(); // card fingerprint -> last four digits, from the records released
let busy = false;

// One checkbox per record type; none ticked searches them all.
export function buildTypeChoices() {
  $("types").replaceChildren(
    ...TYPES.map(([value, label]) =>
      el("label", { class: "check" }, el("input", { type: "checkbox", value }), label),
    ),
  );
}

function setBusy(now, label) {
  busy = now;
  const button = $("search-button");
  button.disabled = now;
  button.textContent = now ? label || "Searching…" : "Search all agencies";
  $("more").disabled = now;
  setSearching(now);
  $("answer").setAttribute("aria-busy", now ? "true" : "false");
}

async function run(path, body, { append = false, pivotFrom = null } = {}) {
  if (busy) return;
  hideAlert();
  setBusy(true, append ? "Loading…" : "Searching…");
  try {
    const answer = await post(path, body);
    request = { path, body: { ...body, cursor: undefined } };
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
  const query = { text: $("q-text").value, selectors, name: $("q-name").value, types };
  const image = imageQuery();
  if (image) query.image = image;
  return {
    query,
    purpose: $("q-purpose").value,
    case_reference: $("q-case").value,
    wait_for_all: $("q-wait-all").checked,
  };
}

export function search() {
  run("/v1/search", readSearchForm());
}

export function more() {
  if (!request || !nextCursor) return;
  run(request.path, { ...request.body, cursor: nextCursor }, { append: true });
}

// Searches every agency for the identifiers of one result, for the same purpose and case.
export function pivot(hit) {
  const selectors = hit ? pivotSelectors(hit) : [];
  if (!selectors.length || !request) return;
  const why = request.body;
  run(
    "/v1/pivot",
    {
      selectors,
      purpose: why.purpose,
      case_reference: why.case_reference,
      wait_for_all: why.wait_for_all,
    },
    { pivotFrom: hit },
  );
}

// Forgets the answer shown (on sign-out).
export function clearAnswer() {
  closeDetail();
  request = null;
  results = [];
  $("answer-body").hidden = true;
  $("placeholder").hidden = false;
}

function show(answer, append) {
  results = append ? [...results, ...answer.results] : answer.results;
  digits = cardDigits(results);
  nextCursor = answer.next_cursor;
  if (!append) closeDetail();

  $("placeholder").hidden = true;
  $("answer-body").hidden = false;
  showAgencies(answer.agencies);
  if (append) {
    for (const hit of answer.results) $("results").append(resultItem(hit));
  } else {
    $("results").replaceChildren(...answer.results.map(resultItem));
  }
  const count = results.length;
  $("results-count").textContent =
    `${count} shown · ${answer.took_ms} ms${nextCursor ? " · more available" : ""}`;
  if (!count) {
    $("results").append(el("li", { class: "empty", text: "No records were found or released." }));
  }
  $("more").hidden = !nextCursor;
  showLinks(answer.links, results);
  document.dispatchEvent(new CustomEvent("cets:answer", { detail: { answer, request: request.body } }));
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
    ` — every agency searched for: ${body.selectors.map((s) => selectorLabel(s, digits)).join(", ")}`,
  );
  banner.hidden = false;
}

function titleOf(hit) {
  if (hit.title) return hit.title;
  if (hit.disclosure !== "full") return `summary only — contact ${contactFor(hit.agency)}`;
  return `${typeLabel(hit.type)} ${hit.record_id}`;
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
    pinButton(hit),
  );
  const distance = distanceText(hit);
  if (distance) {
    item.append(
      el(
        "div",
        { class: "distance", title: "PDQ Hamming distance to the image, out of 256 bits" },
        el("span", { class: "label", text: "Image: " }),
        distance,
      ),
    );
  }
  if (hit.matched_selectors.length) {
    item.append(
      el(
        "div",
        { class: "matched" },
        el("span", { class: "label", text: "Matched: " }),
        ...hit.matched_selectors.map((s) =>
          el("code", { class: "selector", title: selectorTitle(s), text: selectorLabel(s, digits) }),
        ),
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
