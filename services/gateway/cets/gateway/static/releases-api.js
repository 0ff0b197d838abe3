// The release requests' calls to the gateway: GET and POST with the officer's token, every
// failure an ApiFailure carrying the gateway's own reason (as api.js does for searches).

import { ApiFailure, post, token } from "./api.js";

export { ApiFailure, post };

export async function get(path) {
  let response;
  try {
    response = await fetch(path, {
      method: "GET",
      headers: { Authorization: `Bearer ${token() || ""}` },
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiFailure("The gateway cannot be reached. Check the connection and try again.", 0);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const reason = data && typeof data.error === "string"
      ? data.error
      : `the gateway answered with status ${response.status}`;
    throw new ApiFailure(reason, response.status);
  }
  return data;
}

// The roles the token names, for what to show only: the gateway and the node check them.
export function roles() {
  try {
    const part = (token() || "").split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
    return Array.isArray(claims.roles) ? claims.roles : [];
  } catch {
    return [];
  }
}

export const path = (...parts) => parts.map(encodeURIComponent).join("/");
