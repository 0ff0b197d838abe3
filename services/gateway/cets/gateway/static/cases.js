// Cases: the two views (search, cases), the officer's list of cases, opening a new one, the
// alert badge and list, and keeping the "add to case" choice in step with the list. One case
// is shown by case-view.js.

import { listAlerts, onAlerts, setCaseOpener, startAlerts, stopAlerts } from "./alerts.js";
import { call, token } from "./api.js";
import { chooseSearchedCase, onPinned, setPinChoices } from "./case-pin.js";
import { clearCase, currentCase, onCaseChanged, openCase, reloadIfAlerted, setSearchView, showCase } from "./case-view.js";
import { explain } from "./cases-api.js";
import { $, el, hideAlert } from "./dom.js";
import { onSignOut } from "./session.js";

let mine = [];

export function initCases() {
  $("show-search").addEventListener("click", () => showView("search"));
  $("show-cases").addEventListener("click", () => showView("cases"));
  $("alerts-button").addEventListener("click", () => {
    showView("cases");
    $("alerts-panel").hidden = false;
    listAlerts();
    $("alerts-title").focus();
  });
  $("alerts-hide").addEventListener("click", () => {
    $("alerts-panel").hidden = true;
  });
  $("new-case-form").addEventListener("submit", (event) => {
    event.preventDefault();
    createCase();
  });
  // app.js's own listener runs first and keeps the token
  $("sign-in-form").addEventListener("submit", () => signedIn());
  $("search-form").addEventListener("submit", chooseSearchedCase);
  setSearchView(() => showView("search"));
  setCaseOpener(async (reference) => {
    showView("cases");
    await open(reference);
  });
  onPinned((updated) => {
    refreshList();
    if (currentCase() && currentCase().reference === updated.reference) showCase(updated);
  });
  onCaseChanged(() => refreshList());
  onAlerts((fresh) => reloadIfAlerted(fresh));
  onSignOut(signedOut);
  setPinChoices(null);
  if (token()) signedIn();
}

function signedIn() {
  if (!token()) return;
  $("views").hidden = false;
  $("alerts-button").hidden = false;
  showView("search");
  startAlerts();
}

function signedOut() {
  mine = [];
  stopAlerts();
  $("views").hidden = true;
  $("alerts-button").hidden = true;
  $("alerts-panel").hidden = true;
  $("cases-view").hidden = true;
  $("case-list").replaceChildren();
  clearCase();
  setPinChoices(null);
}

export function showView(name) {
  $("workspace").hidden = name !== "search";
  $("cases-view").hidden = name !== "cases";
  $("show-search").setAttribute("aria-pressed", String(name === "search"));
  $("show-cases").setAttribute("aria-pressed", String(name === "cases"));
  if (name === "cases") refreshList();
}

async function refreshList() {
  try {
    mine = await call("GET", "/v1/cases");
  } catch (failure) {
    explain(failure, "Your cases could not be listed");
    return;
  }
  setPinChoices(mine);
  const shown = currentCase();
  $("case-list").replaceChildren(
    ...(mine.length
      ? mine.map((c) => caseItem(c, shown && shown.reference === c.reference))
      : [el("li", { class: "empty", text: "You are on no case yet. Open one below." })]),
  );
}

async function open(reference) {
  hideAlert();
  try {
    await openCase(reference);
  } catch (failure) {
    explain(failure, `Case ${reference} could not be opened`);
  }
  refreshList();
}

function caseItem(c, selected) {
  const button = el(
    "button",
    { type: "button", class: "case-open link-button", "data-reference": c.reference },
    el("strong", { text: c.reference }),
    ` — ${c.title}`,
  );
  button.addEventListener("click", () => open(c.reference));
  const watched = c.watched_until ? " · watched" : "";
  return el(
    "li",
    { class: `case-item${selected ? " selected" : ""}`, "data-reference": c.reference },
    button,
    el("span", { class: `status status-${c.status === "open" ? "open" : "closed"}`, text: c.status }),
    el("span", { class: "hint", text: `lead ${c.lead_officer} · version ${c.version}${watched}` }),
  );
}

async function createCase() {
  hideAlert();
  const members = $("nc-members").value.split("\n").map((m) => m.trim()).filter(Boolean);
  const body = { reference: $("nc-reference").value.trim(), title: $("nc-title").value, members };
  try {
    const made = await call("POST", "/v1/cases", body);
    $("new-case-form").reset();
    showCase(made);
  } catch (failure) {
    explain(failure, "The case was not opened");
    return;
  }
  refreshList();
}
