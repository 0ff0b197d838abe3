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
