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
  return send(path, "application/json", JSON.stringify(body));
}

// A file's bytes as the body (the image to hash at the gateway).
export async function postFile(path, file) {
  return send(path, "application/octet-stream", file);
}

async function send(path, contentType, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: {
        "Content-Type": contentType,
        Authorization: `Bearer ${token() || ""}`,
      },
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
