// Building the page without markup. Every value from the gateway reaches the page as text
// (textContent, createTextNode, setAttribute), never as HTML: these helpers are the only way
// the other modules make elements, and none of them parses a string as markup.

const SVG_NS = "http://www.w3.org/2000/svg";

// Bidirectional controls (embeddings, overrides, isolates, marks) would make a record's text
// read in another order than it is stored ("exe.txt" shown for "txt.exe"); control
// characters are invisible. Both are shown as <U+XXXX> instead of acting. Only the page
// changes: the stored record, the evidence, keeps every character.
const UNSAFE = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function visible(text) {
  return String(text).replace(
    UNSAFE,
    (c) => `<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}>`,
  );
}

function shown(child) {
  return typeof child === "string" ? visible(child) : child;
}

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false).map(shown));
  return node;
}

export function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false).map(shown));
  return node;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.setAttribute("class", value);
    else if (name === "text") node.textContent = visible(value);
    else node.setAttribute(name, value === true ? "" : visible(value));
  }
}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X"
        ? parseInt(name.slice(2), 16)
        : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    const known = ENTITIES[name.toLowerCase()];
    return known === undefined ? whole : known;
  });
}

// A highlight fragment arrives HTML-escaped except for <mark> and </mark>. Only those two
// tags become elements; everything else becomes plain text (entities decoded back to the
// characters they stand for), so nothing in a record can ever turn into markup.
export function highlightNodes(fragment) {
  const out = document.createDocumentFragment();
  let mark = null;
  for (const part of String(fragment).split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") {
      mark = document.createElement("mark");
      out.append(mark);
    } else if (part === "</mark>") {
      mark = null;
    } else if (part) {
      (mark || out).append(document.createTextNode(visible(decodeEntities(part))));
    }
  }
  return out;
}

// The one message line at the top of the page (a refusal, a failed sign-in).
export function showAlert(message) {
  $("alert-text").textContent = message;
  $("alert").hidden = false;
}

export function hideAlert() {
  $("alert").hidden = true;
  $("alert-text").textContent = "";
}
