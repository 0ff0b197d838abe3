// "Add to case" on every result: the choice of case above the results (the officer's open
// cases, the one the search names chosen by default), the button on each result row, and
// saving the search shown to that case.

import { call } from "./api.js";
import { casePath, explain } from "./cases-api.js";
import { $, el, showAlert } from "./dom.js";

let openCases = null; // the officer's open cases, once listed
const whenPinned = [];

export function onPinned(callback) {
  whenPinned.push(callback);
}

// The officer's cases changed (null: not listed yet, or signed out): offer the open ones,
// keeping the choice if it is still there.
export function setPinChoices(cases) {
  openCases = cases ? cases.filter((c) => c.status === "open") : null;
  const select = $("pin-case");
  const before = select.value;
  const known = openCases || [];
  const prompt = openCases === null ? "Your open cases…" : known.length ? "Choose a case…" : "No open case: open one under Cases";
  select.replaceChildren(
    el("option", { value: "", text: prompt }),
    ...known.map((c) => el("option", { value: c.reference, text: `${c.reference} — ${c.title}` })),
  );
  select.value = known.some((c) => c.reference === before) ? before : "";
  chooseSearchedCase();
}

// Lists the officer's cases the first time they are needed (no request at sign-in or search).
async function ensureChoices() {
  if (openCases !== null) return true;
  try {
    setPinChoices(await call("GET", "/v1/cases"));
    return true;
  } catch (failure) {
    explain(failure, "Your cases could not be listed");
    return false;
  }
}

// The search names a case reference: when it is one of the officer's open cases, choose it.
export function chooseSearchedCase() {
  const named = $("q-case").value.trim();
  const known = (openCases || []).find((c) => c.reference.toLowerCase() === named.toLowerCase());
  if (known) $("pin-case").value = known.reference;
}

// The case to add to: the one chosen, else the open case the search names; null if none.
async function chosenCase() {
  if (!(await ensureChoices())) return null;
  if (!$("pin-case").value) chooseSearchedCase();
  return $("pin-case").value || null;
}

async function addLead(reference, lead) {
  const updated = await call("POST", casePath(reference, "/leads"), lead);
  for (const callback of whenPinned) callback(updated);
  return updated;
}

// The button beside the choice of case: saves the search form's query to the chosen case.
export function initSaveSearch() {
  $("pin-case").addEventListener("focus", ensureChoices);
  const button = el("button", { type: "button", id: "save-search", class: "secondary", text: "Save this search to the case" });
  button.addEventListener("click", async () => {
    const reference = await chosenCase();
    if (!reference) {
      showAlert("Choose the case to save the search to, above the results (or open one under Cases).");
      return;
    }
    const selectors = $("q-selectors").value.split("\n").map((s) => s.trim()).filter(Boolean);
    const types = [...document.querySelectorAll("#types input:checked")].map((c) => c.value);
    const query = { text: $("q-text").value, selectors, name: $("q-name").value, types };
    const words = [...selectors, query.text, query.name].filter((w) => w.trim());
    const name = (words.join("; ") || "search").slice(0, 200);
    try {
      await addLead(reference, { kind: "search", content: { name, query, purpose: $("q-purpose").value.slice(0, 512) } });
      button.textContent = `Saved to ${reference}`;
      setTimeout(() => { button.textContent = "Save this search to the case"; }, 3000);
    } catch (failure) {
      explain(failure, `The search was not saved to ${reference}`);
    }
  });
  $("pin-bar").append(button);
}

// What is kept of a hit on the case: what was released when it was pinned.
function released(hit) {
  return {
    agency: hit.agency,
    record_id: hit.record_id,
    type: hit.type,
    disclosure: hit.disclosure,
    title: hit.title,
    created: hit.created,
    selectors: hit.selectors,
    matched_selectors: hit.matched_selectors,
    record: hit.record,
  };
}

export function pinButton(hit) {
  const button = el("button", {
    type: "button",
    class: "pin-button secondary",
    title: "Add this hit, as released now, to the case chosen above the results",
    text: "Add to case",
  });
  button.addEventListener("click", async (event) => {
    event.stopPropagation(); // not a click on the row, which opens the record
    const reference = await chosenCase();
    if (!reference) {
      showAlert("Choose the case to add results to, above the results (or open one under Cases).");
      $("pin-case").focus();
      return;
    }
    button.disabled = true;
    try {
      await addLead(reference, { kind: "hit", agency: hit.agency, record_id: hit.record_id, content: released(hit) });
      button.textContent = `Added to ${reference}`;
      button.classList.add("pinned");
    } catch (failure) {
      explain(failure, `Not added to ${reference}`);
      button.disabled = false;
    }
  });
  return button;
}
