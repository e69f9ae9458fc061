// Small text helpers. Money stays a decimal string as the backend sent it.

/** Cost Explorer charges USD 0.01 per request: `n` requests as `"0.12"`. */
export function ceRequestCost(requests: number): string {
  const cents = Math.max(0, Math.round(requests));
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
}

/** A unit path for display: the root's empty path reads "(root)". */
export function unitLabel(path: string): string {
  return path === "" ? "(root)" : path;
}

/** Whether a decimal string is negative (for colouring a change). */
export function isNegative(amount: string): boolean {
  return amount.trim().startsWith("-");
}

/** Plural helper: `count(3, "account")` is `"3 accounts"`. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? noun : plural}`;
}

/** Whether a decimal string is zero (`"0"`, `"0.00"`, `"-0.0"`). */
export function isZero(amount: string): boolean {
  return /^[-+]?0*(\.0*)?$/.test(amount.trim()) && amount.trim() !== "";
}

/** `2026-11-26T17:18:58.842Z` → `2026-11-26 17:18 UTC`; other text as it is. */
export function isoShort(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(iso.trim());
  if (!m) return iso;
  const zone = m[3] === undefined ? "" : m[3] === "Z" ? " UTC" : ` ${m[3]}`;
  return `${m[1]} ${m[2]}${zone}`;
}

/**
 * What the integration list says when it has no row: "yet" only when the
 * workspace has nothing of CostCarve's at all; with views left behind by a
 * billing view deleted outside the app, it says so instead.
 */
export function emptyListMessage(orphanViews: readonly string[]): string {
  if (orphanViews.length === 0) {
    return "No integrations yet. Create one per customer: name it, pick its accounts, review what will be made.";
  }
  return `No integration is complete in this payer: ${count(orphanViews.length, "Athena view")} of CostCarve's ${
    orphanViews.length === 1 ? "has" : "have"
  } no billing view (deleted outside CostCarve, or a create was interrupted). Drop ${
    orphanViews.length === 1 ? "it" : "them"
  } below, or create the integration again.`;
}
