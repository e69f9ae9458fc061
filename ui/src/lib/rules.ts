// Membership rules as the picker builds them, kept free of the DOM: the
// chips shown above the list, adding and removing a rule, which accounts the
// rules name (to mark them "included" at once, before the backend's preview
// answers), and the words of a sync preview. The backend stays the judge of
// what the rules resolve to (`resolveRules`); this only draws the form.

/** The rules the picker edits beside the ids it selects (`RulesForm` without `accounts`). */
export interface RuleParts {
  /** OUs by path (or id), each with everything below it. */
  units: string[];
  /** `KEY=VALUE`. */
  tags: string[];
  /** Accounts never included. */
  exclude: string[];
}

/** The full form the backend takes. */
export interface Rules extends RuleParts {
  accounts: string[];
  allow_shared: boolean;
}

export const NO_RULES: RuleParts = Object.freeze({ units: [], tags: [], exclude: [] }) as RuleParts;

/** What the rules read of a unit. */
export interface RuleUnit {
  id: string;
  path: string;
}

/** What the rules read of an account. */
export interface RuleAccount {
  id: string;
  name?: string;
  unit_path: string;
  tags: [string, string][];
}

/** Whether any rule beyond a hand-kept list of ids is set. */
export function hasRules(r: RuleParts): boolean {
  return r.units.length > 0 || r.tags.length > 0 || r.exclude.length > 0;
}

/** The form to send: explicit ids (sorted) and the rules. */
export function rulesForm(r: RuleParts, ids: Iterable<string>, allowShared: boolean): Rules {
  return {
    units: [...r.units],
    tags: [...r.tags],
    accounts: [...new Set(ids)].sort(),
    exclude: [...r.exclude].sort(),
    allow_shared: allowShared,
  };
}

/** Two forms say the same (order ignored). */
export function sameRules(a: Rules, b: Rules): boolean {
  const norm = (r: Rules) =>
    JSON.stringify([
      [...r.units].sort(),
      [...r.tags].sort(),
      [...r.accounts].sort(),
      [...r.exclude].sort(),
      r.allow_shared,
    ]);
  return norm(a) === norm(b);
}

const lower = (s: string) => s.toLowerCase();

/** `r` with the OU (a path, `""` is the root) added; the same object when it is there already. */
export function addUnit(r: RuleParts, path: string): RuleParts {
  if (r.units.some((u) => lower(u) === lower(path))) return r;
  return { ...r, units: [...r.units, path] };
}

/** `r` with the tag `key=value` added. */
export function addTag(r: RuleParts, key: string, value: string): RuleParts {
  const tag = `${key}=${value}`;
  if (r.tags.includes(tag)) return r;
  return { ...r, tags: [...r.tags, tag] };
}

/** `r` with the account excluded (or no longer excluded). */
export function setExcluded(r: RuleParts, id: string, excluded: boolean): RuleParts {
  const has = r.exclude.includes(id);
  if (has === excluded) return r;
  return { ...r, exclude: excluded ? [...r.exclude, id] : r.exclude.filter((x) => x !== id) };
}

/** One chip above the list. */
export interface Chip {
  kind: "ou" | "tag" | "exclude";
  value: string;
  label: string;
}

/** The chips of the rules: OUs, then tags, then exclusions (with the account's name when known). */
export function chips(r: RuleParts, names: ReadonlyMap<string, string> = new Map()): Chip[] {
  return [
    ...r.units.map((u): Chip => ({ kind: "ou", value: u, label: `OU ${u === "" ? "(root)" : u} and below` })),
    ...r.tags.map((t): Chip => ({ kind: "tag", value: t, label: `tagged ${t}` })),
    ...r.exclude.map(
      (id): Chip => ({ kind: "exclude", value: id, label: `not ${id}${names.get(id) ? ` (${names.get(id)})` : ""}` }),
    ),
  ];
}

/** `r` without the rule a chip shows. */
export function removeChip(r: RuleParts, chip: Pick<Chip, "kind" | "value">): RuleParts {
  switch (chip.kind) {
    case "ou":
      return { ...r, units: r.units.filter((u) => u !== chip.value) };
    case "tag":
      return { ...r, tags: r.tags.filter((t) => t !== chip.value) };
    case "exclude":
      return { ...r, exclude: r.exclude.filter((x) => x !== chip.value) };
  }
}

/** A unit rule's path: an OU id is looked up, a path is taken as it is (a leading `/` or `Root/` dropped). */
export function unitPathOf(rule: string, units: readonly RuleUnit[]): string {
  const byId = units.find((u) => u.id === rule);
  if (byId) return byId.path;
  return rule.replace(/^\/+/, "").replace(/^root(\/|$)/i, "");
}

/** Whether `path` is `under` or below it (case-insensitive, `""` is the root: everything). */
export function pathWithin(path: string, under: string): boolean {
  if (under === "") return true;
  const p = lower(path);
  const u = lower(under);
  return p === u || p.startsWith(`${u}/`);
}

/**
 * The account ids the OU and tag rules name (before exclusions, before
 * what the backend leaves out: inactive accounts, accounts another
 * integration holds).
 */
export function namedByRules(r: RuleParts, units: readonly RuleUnit[], accounts: readonly RuleAccount[]): Set<string> {
  const out = new Set<string>();
  if (r.units.length === 0 && r.tags.length === 0) return out;
  const paths = r.units.map((u) => unitPathOf(u, units));
  for (const a of accounts) {
    if (paths.some((p) => pathWithin(a.unit_path, p)) || a.tags.some(([k, v]) => r.tags.includes(`${k}=${v}`))) {
      out.add(a.id);
    }
  }
  return out;
}

/** An account id with its name, for a preview line: `123456789012 Acme web prod`. */
export function withName(id: string, names: ReadonlyMap<string, string>): string {
  const n = names.get(id);
  return n ? `${id} ${n}` : id;
}

/** What a sync would do to one integration, in words: `+2 −1 · 1 left out`. */
export function syncSummary(row: { added: readonly string[]; removed: readonly string[]; left_out: readonly unknown[] }): string {
  const parts: string[] = [];
  if (row.added.length > 0) parts.push(`+${row.added.length}`);
  if (row.removed.length > 0) parts.push(`−${row.removed.length}`);
  const head = parts.length > 0 ? parts.join(" ") : "no change";
  return row.left_out.length > 0 ? `${head} · ${row.left_out.length} left out` : head;
}

/** The banner's headline: `2 integrations out of date`, `1 integration out of date`. */
export function outOfDateText(n: number): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? "integration" : "integrations"} out of date`;
}
