// Talking to the gateway about cases and alerts: the paths of /v1/cases, and telling the
// officer why a request failed. A change that names the version of the case it was made on
// (closing a case) is refused with 409 when the case changed meanwhile; the gateway's message
// says which version it is at now, and reaches the officer as it is.

import { ApiFailure } from "./api.js";
import { showAlert } from "./dom.js";
import { signOut } from "./session.js";

export function casePath(reference, rest = "") {
  return `/v1/cases/${encodeURIComponent(reference)}${rest}`;
}

// Tells the officer why a case request failed (a refused sign-in signs out); anything that
// is not the gateway's refusal is a programming error and is thrown on.
export function explain(failure, doing) {
  if (!(failure instanceof ApiFailure)) throw failure;
  if (failure.status === 401) {
    signOut();
    showAlert(`Sign-in refused: ${failure.message}. Paste a valid token to sign in again.`);
  } else {
    showAlert(`${doing}: ${failure.message}`);
  }
}

export function when(stamp) {
  return stamp ? new Date(stamp).toLocaleString() : "";
}

// A selector as the nodes send it in an alert ({kind: "SELECTOR_KIND_EMAIL", value}), or
// already as "kind:value".
export function selectorText(selector) {
  if (typeof selector === "string") return selector;
  const kind = String(selector.kind || "").replace(/^SELECTOR_KIND_/, "").toLowerCase();
  return `${kind}:${selector.value || ""}`;
}
