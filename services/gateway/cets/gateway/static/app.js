// The officers' page: sign in with a token, search every partner agency, read the merged
// list, see which records at different agencies share an identifier, pivot on a record.
// This entry module only wires the page's controls to the modules that do the work:
//
//   api.js      the officer's token and every request to the gateway
//   session.js  signed in or not, who the token names, signing out
//   search.js   the search form, running searches and pivots, the results list, paging
//   images.js   an image dropped on the form, hashed at the gateway, its hashes searched
//   agencies.js each agency's colour, contact and status chip
//   graph.js    the links between agencies, as a graph and as a list
//   detail.js   the record panel and the pivot button's state
//   dom.js      building elements without markup, highlights, the alert line
//   format.js   labels for record types, field names and enum values
//   cases.js    the search and cases views, the officer's cases, opening one
//   case-view.js one case: leads, links, notes, watch, alerts, timeline, changes
//   case-links.js the links among a case's pinned records (drawn by graph.js)
//   case-pin.js "add to case" on every result, saving a search to a case
//   case-report.js the printable case report; cases-api.js paths and messages for cases
//   alerts.js   the alert badge and list: what partners raised for the officer's watches
//   releases.js asking owners to release what they showed below full, and their decisions
//
// Safety rules kept throughout: every value from the gateway reaches the page as text
// (textContent, createTextNode, setAttribute), never as markup; there are no inline event
// handlers or inline styles, so the page runs under a strict Content-Security-Policy; the
// officer's token lives in sessionStorage only (gone when the tab closes), never in the URL.

import { initSaveSearch } from "./case-pin.js";
import { initCases } from "./cases.js";
import { closeDetail, isDetailOpen, selectedRecord } from "./detail.js";
import { $, hideAlert } from "./dom.js";
import { clearImage, setUpImageDrop } from "./images.js";
import { setUpReleases } from "./releases.js";
import { buildTypeChoices, clearAnswer, more, pivot, search } from "./search.js";
import { keepToken, onSignOut, showSignedIn, signOut } from "./session.js";

buildTypeChoices();
setUpImageDrop();
onSignOut(clearAnswer);
onSignOut(clearImage);

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!keepToken($("token").value)) return;
  $("token").value = "";
  hideAlert();
  showSignedIn();
  $("q-text").focus();
});
$("sign-out").addEventListener("click", () => {
  hideAlert();
  signOut();
});
$("alert-close").addEventListener("click", hideAlert);

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
$("more").addEventListener("click", more);
$("detail-close").addEventListener("click", closeDetail);
$("pivot").addEventListener("click", () => pivot(selectedRecord()));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && isDetailOpen()) closeDetail();
});
setUpReleases();
showSignedIn();
initSaveSearch();
initCases();
