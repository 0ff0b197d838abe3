// The administrators' view (role admin): release requests partners filed with this agency's
// node, pending first, each to approve (summary or full, for some days) or deny (with the
// reason the requester reads). The gateway passes the administrator's own token to the node,
// which checks it again and records the decision as this administrator's.

import { $, el, hideAlert, showAlert } from "./dom.js";
import { ApiFailure, get, path, post, roles } from "./releases-api.js";

export async function showAdmin(loud) {
  const box = $("release-admin");
  if (!roles().includes("admin")) {
    clearAdmin();
    return;
  }
  let held;
  try {
    held = await get("/v1/admin/releases?status=pending");
  } catch (failure) {
    if (!(failure instanceof ApiFailure)) throw failure;
    box.hidden = false;
    box.replaceChildren(
      el("h3", { text: "Requests from partners" }),
      el("p", { class: "hint", text: `Not available: ${failure.message}` }),
    );
    if (loud) showAlert(`Partners' requests could not be read: ${failure.message}`);
    return;
  }
  box.hidden = false;
  box.replaceChildren(
    el("h3", { id: "admin-title", text: "Requests from partners, waiting for your decision" }),
    held.length
      ? el("ul", { id: "admin-list", class: "release-list" }, ...held.map(pending))
      : el("p", { class: "hint", text: "No requests are waiting." }),
  );
}

export function clearAdmin() {
  $("release-admin").hidden = true;
  $("release-admin").replaceChildren();
}

function pending(r) {
  const id = (suffix) => `admin-${r.release_id}-${suffix}`;
  const level = el(
    "select",
    { id: id("level"), class: "admin-level" },
    el("option", { value: "summary", text: "summary", selected: true }),
    el("option", { value: "full", text: "full record" }),
  );
  const days = el("input", { id: id("days"), class: "admin-days", type: "number", min: 1, max: 365, value: 30 });
  const reason = el("input", {
    id: id("reason"),
    class: "admin-reason",
    type: "text",
    maxlength: 1000,
    placeholder: "Reason (sent to the requester)",
  });
  const approve = el("button", { type: "button", class: "primary admin-approve", text: "Approve" });
  const deny = el("button", { type: "button", class: "secondary admin-deny", text: "Deny" });
  approve.addEventListener("click", () =>
    decide(r.release_id, "approve", { level: level.value, days: Number(days.value) }),
  );
  deny.addEventListener("click", () => {
    if (!reason.value.trim()) {
      showAlert("A denial needs a reason: the requester reads it.");
      reason.focus();
      return;
    }
    decide(r.release_id, "deny", { reason: reason.value });
  });
  return el(
    "li",
    { class: "release admin-request", "data-release": r.release_id },
    el(
      "div",
      { class: "release-line" },
      el("strong", { text: `${r.requester} (${r.officer}) asks for ${r.record_ids.join(", ")}` }),
      el("span", { class: "release-state state-pending", text: "pending" }),
    ),
    el("div", { class: "hint", text: `case ${r.case_reference} · ${r.purpose} · asked ${r.requested || ""}` }),
    r.message ? el("p", { class: "release-message", text: `“${r.message}”` }) : null,
    el(
      "div",
      { class: "admin-decide" },
      el("label", { for: id("level"), text: "Release" }),
      level,
      el("label", { for: id("days"), text: "for days" }),
      days,
      approve,
    ),
    el("div", { class: "admin-decide" }, el("label", { for: id("reason"), text: "or deny:" }), reason, deny),
  );
}

async function decide(releaseId, action, body) {
  hideAlert();
  try {
    await post(`/v1/admin/releases/${path(releaseId)}/${action}`, body);
  } catch (failure) {
    if (!(failure instanceof ApiFailure)) throw failure;
    showAlert(`The decision was refused: ${failure.message}`);
  }
  await showAdmin(false);
}
