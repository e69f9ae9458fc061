// Sharing a customer's view with the customer (`vi share`): what the
// Integrations screen and the share dialog show, kept free of the DOM. The
// backend decides (only the integration's own accounts, at most 19); these
// words and lists only follow its rules so the dialog offers nothing it
// would refuse.

/** Most accounts a view is shared with (the backend's `MAX_SHARED`). */
export const MAX_SHARED = 19;

/** Share adds accounts to the share; unshare takes them out. */
export type ShareMode = "share" | "unshare";

/** Whether a workspace can share views: only a payer opened through a connection. */
export function sharingOffered(kind: string | null | undefined): boolean {
  return kind === "aws";
}

/** An account of the share list: its id, its name in the organization (if known). */
export interface SharedAccount {
  id: string;
  name: string | null;
  /** Whether it is one of the integration's accounts (a share made outside CostCarve may name others). */
  member: boolean;
}

/** `Acme prod 1 (123456789012)`, or the id alone when the organization does not name it. */
export function accountLabel(a: { id: string; name: string | null }): string {
  return a.name ? `${a.name} (${a.id})` : a.id;
}

/** The accounts a view is shared with, named from the organization, in the order given. */
export function sharedAccounts(
  row: { accounts: readonly string[]; shared_with: readonly string[] },
  names: ReadonlyMap<string, string>,
): SharedAccount[] {
  const members = new Set(row.accounts);
  return row.shared_with.map((id) => ({ id, name: names.get(id) ?? null, member: members.has(id) }));
}

/**
 * The row's line: `Shared with: Acme prod 1 (123456789012), …` or `Not shared`;
 * past `max` accounts, `and N more` (the full list is `sharedWithText(shared)`).
 * An account outside the integration (a share changed outside CostCarve) says so.
 */
export function sharedWithText(shared: readonly SharedAccount[], max = Infinity): string {
  if (shared.length === 0) return "Not shared";
  const label = (a: SharedAccount) => (a.member ? accountLabel(a) : `${accountLabel(a)}, not one of its accounts`);
  const head = shared.slice(0, max).map(label).join("; ");
  const rest = shared.length - Math.min(shared.length, max);
  return `Shared with: ${head}${rest > 0 ? ` and ${rest} more` : ""}`;
}

/** One line of the share dialog: an account that may be ticked (or is already shared). */
export interface ShareChoice {
  id: string;
  name: string | null;
  /** Already shared with it (share mode shows it, not tickable). */
  shared: boolean;
}

/**
 * What the dialog lists: to share, the integration's own accounts (those
 * already shared with, marked); to unshare, the accounts it is shared with
 * that are its own (a stranger added outside CostCarve is for Repair).
 * Sorted by name, then id.
 */
export function shareChoices(
  row: { accounts: readonly string[]; shared_with: readonly string[] },
  names: ReadonlyMap<string, string>,
  mode: ShareMode,
): ShareChoice[] {
  const shared = new Set(row.shared_with);
  const ids = mode === "share" ? row.accounts : row.accounts.filter((id) => shared.has(id));
  return [...new Set(ids)]
    .map((id) => ({ id, name: names.get(id) ?? null, shared: shared.has(id) }))
    .sort((a, b) => (a.name ?? "\uffff").localeCompare(b.name ?? "\uffff") || a.id.localeCompare(b.id));
}

/** The choices whose name or id holds every word of `query` (case-insensitive). */
export function filterChoices(choices: readonly ShareChoice[], query: string): ShareChoice[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...choices];
  return choices.filter((c) => {
    const hay = `${c.name ?? ""} ${c.id}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** How many accounts the view would be shared with after the change. */
export function sharedAfter(current: readonly string[], ticked: Iterable<string>, mode: ShareMode): number {
  const after = new Set(current);
  for (const id of ticked) {
    if (mode === "share") after.add(id);
    else after.delete(id);
  }
  return after.size;
}

/** Why the change cannot be made as ticked (the backend would refuse it), or `null`. */
export function shareProblem(current: readonly string[], ticked: ReadonlySet<string>, mode: ShareMode): string | null {
  if (mode === "share") {
    const n = sharedAfter(current, ticked, mode);
    if (n > MAX_SHARED) {
      return `A view is shared with at most ${MAX_SHARED} accounts, not ${n}: share it with the customer's management or billing account.`;
    }
  }
  return null;
}

/** The dialog's button: `Share with 2 accounts`, `Stop sharing with 1 account`. */
export function shareButtonText(mode: ShareMode, n: number): string {
  const what = `${n.toLocaleString("en-US")} ${n === 1 ? "account" : "accounts"}`;
  if (n === 0) return mode === "share" ? "Tick an account to share with" : "Tick an account to stop sharing";
  return mode === "share" ? `Share with ${what}` : `Stop sharing with ${what}`;
}
