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

/** `2026-11-26T17:18:58.842Z` → `26 Nov 2026 17:18 UTC` (the one date format); other text as it is. */
export function isoShort(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(iso.trim());
  if (!m) return dateText(iso);
  const zone = m[3] === undefined ? "" : m[3] === "Z" ? " UTC" : ` ${m[3]}`;
  return `${dateText(m[1])} ${m[2]}${zone}`;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/**
 * A date as customers read it, the backend's format on charts and packs:
 * `2026-11-02` (or an ISO timestamp's date) → `2 Nov 2026`; other text as it is.
 */
export function dateText(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/.exec(iso.trim());
  const month = m ? MONTHS[Number(m[2]) - 1] : undefined;
  if (!m || month === undefined || Number(m[3]) < 1 || Number(m[3]) > 31) return iso;
  return `${Number(m[3])} ${month.slice(0, 3)} ${m[1]}`;
}

/** `2026-11` (or `2026-11-01`) → `November 2026`; other text as it is. */
export function monthText(ym: string): string {
  const m = /^(\d{4})-(\d{2})(?:$|-)/.exec(ym.trim());
  const month = m ? MONTHS[Number(m[2]) - 1] : undefined;
  return m && month ? `${month} ${m[1]}` : ym;
}

/** The day before an ISO date (`to` is the first day not included); other text as it is. */
export function dayBefore(iso: string): string {
  const d = new Date(`${iso.trim()}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso.trim()) || Number.isNaN(d.getTime())) return iso;
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/** A range whose `to` is the first day not included: `1 Dec 2025 to 30 Nov 2026`. */
export function rangeText(from: string, toExclusive: string): string {
  return `${dateText(from)} to ${dateText(dayBefore(toExclusive))}`;
}

/** The symbol (or code and a space) written before an amount, as the backend writes it. */
export function currencyPrefix(currency: string): string {
  const code = currency.trim().toUpperCase();
  const symbols: Record<string, string> = { "": "$", USD: "$", EUR: "€", GBP: "£", JPY: "¥", CNY: "¥", INR: "₹" };
  return symbols[code] ?? `${code} `;
}

/** `1234567` → `1,234,567`. */
function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A decimal string in cents (rounded half away from zero), exactly; `null` if it is not a decimal. */
export function toCents(amount: string): bigint | null {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(amount.trim());
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return null;
  const [, sign, int, frac = ""] = m;
  let cents = BigInt(`${int || "0"}${frac.padEnd(2, "0").slice(0, 2)}`);
  if (Number(frac[2] ?? "0") >= 5) cents += 1n;
  return sign === "-" ? -cents : cents;
}

/** Cents as a plain decimal string: `-123` → `-1.23`. */
export function centsText(cents: bigint): string {
  const neg = cents < 0n;
  const s = (neg ? -cents : cents).toString().padStart(3, "0");
  return `${neg ? "-" : ""}${s.slice(0, -2)}.${s.slice(-2)}`;
}

/**
 * An amount as customers read it, as the backend's `money` writes it: to
 * the cent, thousands separators, the currency: `$12,345.67`, `-$3.10`,
 * `CHF 1,000.00`. Text that is not a decimal is returned as it is.
 */
export function money(amount: string, currency: string): string {
  const cents = toCents(amount);
  if (cents === null) return amount;
  const abs = cents < 0n ? -cents : cents;
  const text = centsText(abs);
  const [int, frac] = text.split(".");
  return `${cents < 0n ? "-" : ""}${currencyPrefix(currency)}${groupThousands(int)}.${frac}`;
}

/** A signed change: `+$1,234.50`, `-$20.00`, `$0.00`. */
export function moneyChange(amount: string, currency: string): string {
  const text = money(amount, currency);
  const cents = toCents(amount);
  return cents !== null && cents > 0n ? `+${text}` : text;
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
