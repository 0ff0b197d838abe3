// Alerts: what partners raised for the watches on the officer's cases, collected by the
// gateway from every partner on its own interval. The page asks the gateway for them while
// the officer is signed in; the badge in the top bar counts those not looked at yet in this
// tab (nothing about them is kept in the browser), and the alert list shows them all.

import { agencyTag } from "./agencies.js";
import { ApiFailure, call, token } from "./api.js";
import { selectorText, when } from "./cases-api.js";
import { $, el } from "./dom.js";
import { readable } from "./format.js";

const POLL_MS = 5000;
let timer = null;
let known = []; // the alerts, newest first, as the gateway last sent them
let seen = new Set();
const whenArrived = [];
let openCaseLink = () => {};

function keyOf(a) {
  return `${a.agency}\u0000${a.alert_id}`;
}

// Called with the new alerts each time some arrive.
export function onAlerts(callback) {
  whenArrived.push(callback);
}

// What opens a case from the alert list (cases.js gives it).
export function setCaseOpener(open) {
  openCaseLink = open;
}

export function startAlerts() {
  stopAlerts();
  if (!token()) return;
  poll();
  timer = setInterval(poll, POLL_MS);
}

export function stopAlerts() {
  if (timer !== null) clearInterval(timer);
  timer = null;
  known = [];
  seen = new Set();
  showBadge();
  $("alert-list").replaceChildren();
}

async function poll() {
  let answer;
  try {
    answer = await call("GET", "/v1/alerts");
  } catch (failure) {
    if (!(failure instanceof ApiFailure)) throw failure;
    if (failure.status === 404 || failure.status === 401) {
      // a gateway without cases has nothing to watch; a token it refuses is explained (and
      // the officer signed out) by the next search or case request, not by this poll
      stopAlerts();
      $("alerts-button").hidden = true;
    }
    return; // otherwise the gateway is busy or away: ask again next time
  }
  if (!token()) return;
  const before = new Set(known.map(keyOf));
  known = answer;
  const fresh = known.filter((a) => !before.has(keyOf(a)));
  showBadge();
  if (!$("alerts-panel").hidden) listAlerts();
  if (fresh.length) for (const callback of whenArrived) callback(fresh);
}

// Asks the gateway now (after the officer did something that may bring alerts).
export function refreshAlerts() {
  if (token() && timer !== null) poll();
}

function showBadge() {
  const unseen = known.filter((a) => !seen.has(keyOf(a))).length;
  const badge = $("alert-count");
  badge.textContent = String(unseen);
  badge.hidden = unseen === 0;
  $("alerts-button").setAttribute(
    "aria-label",
    unseen ? `Alerts: ${unseen} new` : "Alerts: none new",
  );
}

// The alert list, every alert now marked as looked at.
export function listAlerts() {
  for (const a of known) seen.add(keyOf(a));
  showBadge();
  $("alert-list").replaceChildren(
    ...(known.length
      ? known.map((a) => alertItem(a, { withCase: true }))
      : [el("li", { class: "empty", text: "No alerts. Watch a case's identifiers to be told when a partner records one of them." })]),
  );
}

// One alert: who holds the new record and what their policy let them release of it.
export function alertItem(a, { withCase = false } = {}) {
  const hit = (a.content && a.content.hit) || null;
  const item = el(
    "li",
    { class: `alert-item disclosure-${a.disclosure}`, "data-agency": a.agency, "data-alert": a.alert_id },
    el("time", { datetime: a.received, text: when(a.received) }),
    " ",
    agencyTag(a.agency),
    " ",
  );
  if (hit && a.record_id) {
    const matched = (hit.matched_selectors || []).map(selectorText);
    item.append(
      el("strong", { text: `${a.agency}/${a.record_id}` }),
      ` ${readable(hit.type || "")} · ${a.disclosure}`,
      hit.title ? ` · ${hit.title}` : "",
      ...(matched.length ? [" · matched ", ...matched.map((s) => el("code", { class: "selector", text: s }))] : []),
    );
  } else {
    item.append(`${a.agency} has a new record matching the watch; its policy releases no more: contact ${a.agency}.`);
  }
  if (withCase) {
    const open = el("button", { type: "button", class: "link-button", text: `case ${a.case_reference}` });
    open.addEventListener("click", () => openCaseLink(a.case_reference));
    item.append(" · ", open);
  }
  return item;
}
