// Signed in or not: which of the sign-in card and the workspace shows, who the token says
// its holder is, and signing out (other modules clear what they show through onSignOut).

import { forgetToken, storeToken, token } from "./api.js";
import { $ } from "./dom.js";

const whenSignedOut = [];

// What the token says about its holder, for display only: the gateway verifies it.
function describeToken(value) {
  try {
    const part = value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
    const who = `Signed in as ${claims.sub} (${claims.iss})`;
    if (typeof claims.exp !== "number") return who;
    const until = new Date(claims.exp * 1000);
    return `${who} · token valid until ${until.toLocaleString()}`;
  } catch {
    return "Signed in";
  }
}

export function showSignedIn() {
  const value = token();
  $("sign-in").hidden = Boolean(value);
  $("workspace").hidden = !value;
  $("who").hidden = !value;
  $("who-text").textContent = value ? describeToken(value) : "";
  if (!value) $("token").focus();
}

// Keeps a pasted token, with or without its "Bearer " prefix; false if nothing was pasted.
export function keepToken(pasted) {
  const value = pasted.trim().replace(/^Bearer\s+/i, "");
  if (!value) return false;
  storeToken(value);
  return true;
}

export function onSignOut(clear) {
  whenSignedOut.push(clear);
}

export function signOut() {
  forgetToken();
  for (const clear of whenSignedOut) clear();
  showSignedIn();
}
