// The account picker's search: every word must occur (case-insensitive,
// substring) in an account's id, name, unit path or one of its `key=value`
// tags. The lowercase text searched is built once per account; a keystroke
// only scans it.

/** What the filter reads of an account. */
export interface Searchable {
  id: string;
  name: string;
  unit_path: string;
  tags: [string, string][];
}

/** The precomputed text of each account, in the accounts' order. */
export interface FilterIndex {
  readonly haystacks: readonly string[];
}

// Fields are joined with a character no one types, so a word cannot match
// across the end of one field and the start of the next.
const SEP = "\u0000";

/** One account's searchable text, lowercase. */
export function haystack(a: Searchable): string {
  const parts = [a.id, a.name, a.unit_path];
  for (const [k, v] of a.tags) parts.push(`${k}=${v}`);
  return parts.join(SEP).toLowerCase();
}

/** Builds the index once per organization. */
export function buildIndex(accounts: readonly Searchable[]): FilterIndex {
  return { haystacks: accounts.map(haystack) };
}

/** The words of a search, lowercase; none for a blank search. */
export function terms(query: string): string[] {
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t.length > 0 && !t.includes(SEP));
}

/** Whether one haystack holds every term. */
export function matches(hay: string, words: readonly string[]): boolean {
  for (const w of words) {
    if (!hay.includes(w)) return false;
  }
  return true;
}

/** Positions (into the indexed accounts) of those matching `query`, in order. */
export function filterIndex(index: FilterIndex, query: string): number[] {
  const words = terms(query);
  const hs = index.haystacks;
  const out: number[] = [];
  if (words.length === 0) {
    for (let i = 0; i < hs.length; i++) out.push(i);
    return out;
  }
  for (let i = 0; i < hs.length; i++) {
    if (matches(hs[i], words)) out.push(i);
  }
  return out;
}
