// Staged release on the officers' page: on a hit released below full (a summary result, or an
// agency that only counted its matches) the officer asks the owner to release it — purpose,
// case, a message —; "Release requests" lists the officer's requests and the owners'
// decisions, and opens an approved record (fetched with the release id, which the owner
// checks against its approval). Administrators (role admin) also get the partners' requests
// held by their own agency, to approve or deny (releases-admin.js).
//
// It hangs on the page through two events only: search.js tells "cets:answer" (an answer was
// shown), detail.js tells "cets:detail" (a result opened in the record panel).

import { openDetail } from "./detail.js";
import { $, el, hideAlert, showAlert } from "./dom.js";
import { onSignOut } from "./session.js";
import { ApiFailure, get, path, post } from "./releases-api.js";
import { clearAdmin, showAdmin } from "./releases-admin.js";

const MAX_MESSAGE = 1000;
const REFRESH_MS = 5000;
let refreshing = null;

export function setUpReleases() {
  const section = el(
    "section",
    { id: "releases", class: "card releases-card", "aria-labelledby": "releases-title" },
    el(
      "div",
      { class: "releases-head" },
      el("h2", { id: "releases-title", text: "Release requests" }),
      el("button", {
        type: "button",
        id: "releases-toggle",
        class: "secondary",
        "aria-expanded": "false",
        "aria-controls": "releases-body",
        text: "Show release requests",
      }),
    ),
    el("p", {
      class: "hint",
      text: "Ask a partner for what it released below full; its administrators decide, and the decision arrives here within a minute.",
    }),
    el("div", { id: "release-offers", class: "release-offers" }),
    requestForm(),
    el(
      "div",
      { id: "releases-body", hidden: true },
      el(
        "div",
        { class: "releases-head" },
        el("h3", { text: "Yours" }),
        el("button", { type: "button", id: "releases-refresh", class: "link-button", text: "Refresh" }),
      ),
      el("ul", { id: "release-list", class: "release-list", "aria-live": "polite" }),
      el("div", { id: "release-admin", class: "release-admin", hidden: true }),
    ),
  );
  $("workspace").append(section);
  // nothing is asked of the gateway until the officer opens the view (or sends a request)
  $("releases-toggle").addEventListener("click", () => setOpen($("releases-body").hidden));
  $("releases-refresh").addEventListener("click", () => refresh(true));
  document.addEventListener("cets:answer", (event) => offer(event.detail));
  document.addEventListener("cets:detail", (event) => onDetail(event.detail));
  onSignOut(clear);
}

function setOpen(open) {
  $("releases-body").hidden = !open;
  $("releases-toggle").setAttribute("aria-expanded", open ? "true" : "false");
  $("releases-toggle").textContent = open ? "Hide release requests" : "Show release requests";
  if (open) refresh(true);
  else schedule(false);
}

function requestForm() {
  const form = el(
    "form",
    { id: "release-form", class: "release-form", hidden: true, method: "post", action: "/" },
    el("h3", { id: "release-form-title" }),
    el("label", { for: "release-purpose", text: "Why you ask for it" }),
    el("input", {
      id: "release-purpose",
      type: "text",
      required: true,
      minlength: 3,
      maxlength: 512,
      autocomplete: "off",
    }),
    el("label", { for: "release-case", text: "Your case" }),
    el("input", { id: "release-case", type: "text", required: true, maxlength: 128, autocomplete: "off" }),
    el("label", { for: "release-message", text: "Message to the owner (optional)" }),
    el("textarea", { id: "release-message", rows: 3, maxlength: MAX_MESSAGE }),
    el("p", { id: "release-message-count", class: "hint", text: `0 / ${MAX_MESSAGE}` }),
    el(
      "div",
      { class: "release-buttons" },
      el("button", { type: "submit", id: "release-send", class: "primary", text: "Send the request" }),
      el("button", { type: "button", id: "release-cancel", class: "secondary", text: "Cancel" }),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  form.querySelector("#release-cancel").addEventListener("click", () => {
    form.hidden = true;
  });
  form.querySelector("#release-message").addEventListener("input", (event) => {
    $("release-message-count").textContent = `${event.target.value.length} / ${MAX_MESSAGE}`;
  });
  return form;
}

let asking = null; // {agency, record_id} or {agency, selectors}

// Opens the form for one record (a summary hit) or one agency's counted matches.
function ask(what) {
  asking = what;
  const form = $("release-form");
  $("release-form-title").textContent = what.record_id
    ? `Ask ${what.agency} to release ${what.record_id}`
    : `Ask ${what.agency} to release the records it counted for ${what.selectors.join(", ")}`;
  $("release-purpose").value = $("q-purpose").value;
  $("release-case").value = $("q-case").value;
  form.hidden = false;
  form.scrollIntoView({ block: "nearest" });
  $("release-purpose").focus();
}

async function send() {
  if (!asking) return;
  hideAlert();
  const reference = $("release-case").value.trim();
  const body = {
    agency: asking.agency,
    purpose: $("release-purpose").value,
    message: $("release-message").value,
  };
  if (asking.record_id) body.record_id = asking.record_id;
  else body.selectors = asking.selectors;
  // a case of the case store is named as one (the gateway checks you may see it)
  body[(await isMyCase(reference)) ? "case" : "case_reference"] = reference;
  $("release-send").disabled = true;
  try {
    await post("/v1/releases", body);
    $("release-form").hidden = true;
    $("release-message").value = "";
    asking = null;
    setOpen(true);
  } catch (failure) {
    if (!(failure instanceof ApiFailure)) throw failure;
    showAlert(`The release request was refused: ${failure.message}`);
  } finally {
    $("release-send").disabled = false;
  }
}

async function isMyCase(reference) {
  try {
    const cases = await get("/v1/cases");
    return cases.some((c) => c.reference === reference);
  } catch {
    return false; // no case store here: a reference of your own
  }
}

// After an answer: a request button for each agency that counted matches it did not show.
function offer(shown) {
  const selectors = (shown.request.query && shown.request.query.selectors) || shown.request.selectors || [];
  const counted = shown.answer.agencies.filter(
    (a) => a.status === "ok" && a.withheld_hits > 0 && a.disclosure !== "full",
  );
  $("release-offers").replaceChildren(
    ...counted.map((a) => {
      const button = el("button", {
        type: "button",
        class: "secondary request-release",
        "data-agency": a.agency,
        text: `Request release from ${a.agency} (${a.withheld_hits} withheld)`,
      });
      if (!selectors.length) {
        button.disabled = true;
        button.title = "Only a search by identifiers can be asked for: search with identifiers";
      }
      button.addEventListener("click", () => ask({ agency: a.agency, selectors }));
      return button;
    }),
  );
}

// The record panel: a summary can be asked for in full; a record fetched under a release says so.
function onDetail(hit) {
  const body = $("detail-body");
  if (hit.release_id) {
    body.append(
      el("p", {
        class: "notice release-note",
        text: `Released to you by ${hit.agency} at ${hit.disclosure} under release ${hit.release_id}.`,
      }),
    );
    return;
  }
  if (hit.disclosure === "full") return;
  const button = el("button", {
    type: "button",
    id: "detail-request-release",
    class: "secondary request-release",
    text: "Request release",
  });
  button.addEventListener("click", () => ask({ agency: hit.agency, record_id: hit.record_id }));
  body.append(button);
}

export async function refresh(loud) {
  if ($("workspace").hidden || $("releases-body").hidden) return;
  try {
    const mine = await get("/v1/releases");
    $("release-list").replaceChildren(
      ...(mine.length ? mine.map(item) : [el("li", { class: "empty", text: "No release requests yet." })]),
    );
    schedule(mine.some((r) => r.status === "pending"));
  } catch (failure) {
    if (!(failure instanceof ApiFailure)) throw failure;
    if (loud) showAlert(`Release requests could not be read: ${failure.message}`);
  }
  await showAdmin(loud);
}

function schedule(pending) {
  if (refreshing) clearTimeout(refreshing);
  refreshing = pending ? setTimeout(() => refresh(false), REFRESH_MS) : null;
}

function state(r) {
  if (r.status === "approved") {
    return r.expired ? `approved at ${r.level}, expired ${r.expires}` : `approved at ${r.level} until ${r.expires}`;
  }
  if (r.status === "denied") return "denied";
  return "pending";
}

function item(r) {
  const what = r.record_id || r.selectors.join(", ");
  const li = el(
    "li",
    { class: `release status-${r.status}`, "data-release": r.release_id, "data-agency": r.agency },
    el(
      "div",
      { class: "release-line" },
      el("strong", { text: `${r.agency}: ${what}` }),
      el("span", { class: `release-state state-${r.status}`, text: state(r) }),
    ),
    el("div", { class: "hint", text: `case ${r.case_reference} · ${r.purpose} · asked ${r.requested || ""}` }),
  );
  if (r.status === "denied" && r.reason) {
    li.append(el("p", { class: "release-reason", text: `Reason: ${r.reason}` }));
  }
  if (r.status === "approved" && !r.expired) {
    li.append(
      el(
        "div",
        { class: "release-records" },
        ...r.record_ids.map((id) => {
          const open = el("button", {
            type: "button",
            class: "secondary open-released",
            "data-record": id,
            text: `Open ${id}`,
          });
          open.addEventListener("click", () => openReleased(r, id));
          return open;
        }),
      ),
    );
  }
  return li;
}

async function openReleased(r, recordId) {
  hideAlert();
  const query = new URLSearchParams({
    purpose: r.purpose,
    case_reference: r.case_reference,
    release_id: r.release_id,
  });
  try {
    const hit = await get(`/v1/records/${path(r.agency, recordId)}?${query}`);
    openDetail({ ...hit, release_id: r.release_id }, null);
  } catch (failure) {
    if (!(failure instanceof ApiFailure)) throw failure;
    showAlert(`The released record could not be fetched: ${failure.message}`);
  }
}

function clear() {
  schedule(false);
  asking = null;
  $("release-offers").replaceChildren();
  $("release-list").replaceChildren();
  $("release-form").hidden = true;
  clearAdmin();
  setOpen(false);
}
