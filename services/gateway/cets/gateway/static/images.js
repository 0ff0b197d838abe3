// The image in a search: a file dropped on the form (or chosen) is sent to this agency's own
// gateway, which hashes it in memory and discards it; the page keeps only the hashes it gets
// back and clears the file input at once. PDQ has no plain-JavaScript implementation that
// matches ThreatExchange's bit for bit, so the hashing is the gateway's, never a partner's:
// the image never leaves the agency. Only the hashes are searched.

import { ApiFailure, postFile } from "./api.js";
import { $, el } from "./dom.js";

const MAX_BYTES = 32 * 1024 * 1024;
let hashes = null; // the gateway's answer for the image chosen, or null

// The query's image part, or null when no image was given.
export function imageQuery() {
  if (!hashes) return null;
  const rotations = $("q-rotations").checked;
  return {
    pdq: rotations ? hashes.dihedral : [hashes.pdq],
    md5: hashes.md5,
    sha1: hashes.sha1,
    max_distance: Number($("q-distance").value),
  };
}

export function clearImage() {
  hashes = null;
  $("q-image").value = "";
  $("image-status").replaceChildren();
  $("image-drop").classList.remove("has-image");
}

async function take(file) {
  $("q-image").value = ""; // the page holds no reference to the file once it is sent
  if (!file) return;
  if (file.size > MAX_BYTES) {
    showStatus(`${file.name} is larger than 32 MiB.`, true);
    return;
  }
  hashes = null;
  showStatus("Hashing at your agency's gateway…");
  try {
    hashes = await postFile("/v1/images/hash", file);
  } catch (failure) {
    if (!(failure instanceof ApiFailure)) throw failure;
    showStatus(`The image was refused: ${failure.message}`, true);
    return;
  }
  const quality = hashes.low_quality
    ? ` Low PDQ quality (${hashes.quality}): near matches may be unrelated.`
    : "";
  $("image-drop").classList.add("has-image");
  showStatus(
    `Image hashed (${hashes.width}×${hashes.height} ${hashes.format}); it was not kept.${quality}`,
    hashes.low_quality,
    true,
  );
}

function showStatus(text, warn = false, removable = false) {
  const status = $("image-status");
  status.replaceChildren(el("span", { class: warn ? "warn" : "", text }));
  if (removable) {
    const remove = el("button", { type: "button", class: "link-button", text: "Remove image" });
    remove.addEventListener("click", clearImage);
    status.append(" ", remove);
  }
}

export function setUpImageDrop() {
  const zone = $("image-drop");
  $("q-image").addEventListener("change", (event) => take(event.target.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    take(event.dataTransfer.files[0]);
  });
}

// "12 bits apart · 95% similar · mirrored" for a hit of an image search, or null.
export function distanceText(hit) {
  if (hit.distance === null || hit.distance === undefined) return null;
  const parts = [
    hit.distance === 0 ? "identical image" : `${hit.distance} bits apart`,
    `${Math.round(hit.similarity * 100)}% similar`,
  ];
  if (hit.variant && hit.variant !== "original") parts.push(hit.variant);
  return parts.join(" · ");
}
