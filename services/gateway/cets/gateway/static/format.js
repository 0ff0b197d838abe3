// Words for what the gateway sends: record types, field names, enum values, long labels.
// Plain strings in, plain strings out; nothing here touches the page.

export const TYPES = [
  ["person", "Person"],
  ["online_identity", "Online identity"],
  ["phone", "Phone"],
  ["payment_card", "Payment card"],
  ["card_transaction", "Card transaction"],
  ["chat_message", "Chat message"],
  ["arrest", "Arrest"],
  ["case_note", "Case note"],
  ["tip", "Tip"],
  ["media_hash", "Media hash"],
];

export function typeLabel(type) {
  const known = TYPES.find(([value]) => value === type);
  return known ? known[1] : type.replace(/_/g, " ");
}

export function humanKey(key) {
  const words = key.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const ENUM_PREFIXES = [
  ["RECORD_TYPE_", (rest) => typeLabel(rest.toLowerCase())],
  ["SELECTOR_KIND_", (rest) => rest.toLowerCase()],
  ["HANDLING_", (rest) => rest.replace(/_/g, " ")],
];

export function readable(value) {
  if (typeof value !== "string") return value === null ? "" : String(value);
  for (const [prefix, render] of ENUM_PREFIXES) {
    if (value.startsWith(prefix)) return render(value.slice(prefix.length));
  }
  return value;
}

export function shorten(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// Card selectors hold a keyed fingerprint of the card number, never the number. The last four
// digits come from any released record in the answer that holds the same fingerprint.
export function cardDigits(hits) {
  const digits = new Map();
  const walk = (value) => {
    if (!value || typeof value !== "object") return;
    if (typeof value.card_fingerprint === "string" && typeof value.card_last4 === "string") {
      digits.set(value.card_fingerprint, value.card_last4);
    }
    for (const inner of Object.values(value)) walk(inner);
  };
  for (const hit of hits) walk(hit.record);
  return digits;
}

// A selector key as an officer reads it: card fingerprints as "card ending 1111" when the
// answer tells, else as a short, explained fingerprint; every other kind as it is.
export function selectorLabel(key, digits) {
  if (!key.startsWith("card:")) return key;
  const fingerprint = key.slice("card:".length);
  const last4 = digits && digits.get(fingerprint);
  return last4 ? `card ending ${last4}` : `card (fingerprint ${fingerprint.slice(0, 8)}…)`;
}

export function selectorTitle(key) {
  return key.startsWith("card:")
    ? `${key}: a keyed fingerprint of the card number, the same at every agency; ` +
        "the number itself is never stored or shared"
    : key;
}
