// Talking to the gateway: the officer's token and the one way requests are made.
//
// The token lives in sessionStorage only (gone when the tab closes), never in the URL or a
// cookie; it is sent as a bearer token, the gateway verifies it. Every failure becomes an
// ApiFailure whose message is the gateway's own reason, for the officer to read.

const TOKEN_KEY = "cets.officer-token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiFailure extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export async function post(path, body) {
  return send("POST", path, "application/json", JSON.stringify(body));
}

// A file's bytes as the body (the image to hash at the gateway).
export async function postFile(path, file) {
  return send("POST", path, "application/octet-stream", file);
}

// Any method, with a JSON body or none (the cases API reads, changes and removes).
export async function call(method, path, body) {
  return body === undefined
    ? send(method, path, null, undefined)
    : send(method, path, "application/json", JSON.stringify(body));
}

// A document the gateway makes (the case report as HTML): its text, as a Blob.
export async function fetchBlob(path) {
  let response;
  try {
    response = await fetch(path, {
      headers: { Authorization: `Bearer ${token() || ""}` },
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiFailure("The gateway cannot be reached. Check the connection and try again.", 0);
  }
  if (!response.ok) {
    let reason = `the gateway answered with status ${response.status}`;
    try {
      const data = await response.json();
      if (data && typeof data.error === "string") reason = data.error;
    } catch {
      // not JSON: the status says enough
    }
    throw new ApiFailure(reason, response.status);
  }
  return response.blob();
}

async function send(method, path, contentType, body) {
  const headers = { Authorization: `Bearer ${token() || ""}` };
  if (contentType) headers["Content-Type"] = contentType;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body,
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
