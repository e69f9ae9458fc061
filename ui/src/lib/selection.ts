// The account picker's selection logic, kept free of the DOM: the unit tree,
// "everything under this unit" (recursively), and what an edit adds and
// removes. Selections are immutable sets: each change returns a new one.

/** What the tree reads of a unit. */
export interface TreeUnit {
  id: string;
  name: string;
  parent_id: string | null;
  path: string;
}

/** What the tree reads of an account. */
export interface TreeAccount {
  id: string;
  unit_id: string;
}

/** Units by parent, and the accounts at and below each unit. */
export interface OrgTree {
  /** Units without a (known) parent: usually the one root. */
  readonly roots: readonly string[];
  readonly units: ReadonlyMap<string, TreeUnit>;
  readonly children: ReadonlyMap<string, readonly string[]>;
  /** Account ids directly in each unit. */
  readonly direct: ReadonlyMap<string, readonly string[]>;
  /** Account ids anywhere below each unit (the unit included). */
  readonly subtree: ReadonlyMap<string, readonly string[]>;
}

export function buildTree(units: readonly TreeUnit[], accounts: readonly TreeAccount[]): OrgTree {
  const byId = new Map<string, TreeUnit>();
  for (const u of units) byId.set(u.id, u);

  const children = new Map<string, string[]>();
  const roots: string[] = [];
  for (const u of units) {
    if (u.parent_id !== null && byId.has(u.parent_id) && u.parent_id !== u.id) {
      const list = children.get(u.parent_id) ?? [];
      list.push(u.id);
      children.set(u.parent_id, list);
    } else {
      roots.push(u.id);
    }
  }
  for (const list of children.values()) {
    list.sort((a, b) => byId.get(a)!.name.localeCompare(byId.get(b)!.name));
  }

  const direct = new Map<string, string[]>();
  for (const a of accounts) {
    const list = direct.get(a.unit_id) ?? [];
    list.push(a.id);
    direct.set(a.unit_id, list);
  }

  const subtree = new Map<string, string[]>();
  const visiting = new Set<string>();
  const collect = (id: string): string[] => {
    const done = subtree.get(id);
    if (done) return done;
    if (visiting.has(id)) return []; // a cycle in bad data: stop, don't loop
    visiting.add(id);
    const out = [...(direct.get(id) ?? [])];
    for (const c of children.get(id) ?? []) {
      for (const a of collect(c)) out.push(a);
    }
    visiting.delete(id);
    subtree.set(id, out);
    return out;
  };
  for (const u of units) collect(u.id);

  return { roots, units: byId, children, direct, subtree };
}

/** The accounts anywhere under a unit. */
export function accountsUnder(tree: OrgTree, unitId: string): readonly string[] {
  return tree.subtree.get(unitId) ?? [];
}

/** `selected` plus every account under the unit, recursively. */
export function selectUnit(selected: ReadonlySet<string>, tree: OrgTree, unitId: string): Set<string> {
  return addAll(selected, accountsUnder(tree, unitId));
}

/** `selected` plus `ids`. */
export function addAll(selected: ReadonlySet<string>, ids: Iterable<string>): Set<string> {
  const next = new Set(selected);
  for (const id of ids) next.add(id);
  return next;
}

/** `selected` without `ids`. */
export function removeAll(selected: ReadonlySet<string>, ids: Iterable<string>): Set<string> {
  const next = new Set(selected);
  for (const id of ids) next.delete(id);
  return next;
}

/** `selected` with `id` flipped. */
export function toggle(selected: ReadonlySet<string>, id: string): Set<string> {
  const next = new Set(selected);
  if (!next.delete(id)) next.add(id);
  return next;
}

/** How many of `ids` are in `selected`. */
export function countSelected(selected: ReadonlySet<string>, ids: readonly string[]): number {
  let n = 0;
  for (const id of ids) if (selected.has(id)) n++;
  return n;
}

/** What going from `before` to `after` adds and removes, each sorted. */
export function diff(
  before: Iterable<string>,
  after: Iterable<string>,
): { added: string[]; removed: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  const added = [...a].filter((id) => !b.has(id)).sort();
  const removed = [...b].filter((id) => !a.has(id)).sort();
  return { added, removed };
}

/**
 * Selected accounts that already belong to another integration (`except`
 * being the one under edit), with those integrations' names.
 */
export function sharedAccounts(
  selected: ReadonlySet<string>,
  memberOf: ReadonlyMap<string, readonly string[]>,
  except: string | null = null,
): { id: string; integrations: string[] }[] {
  const out: { id: string; integrations: string[] }[] = [];
  const skip = except?.toLowerCase();
  for (const id of selected) {
    const others = (memberOf.get(id) ?? []).filter((n) => n.toLowerCase() !== skip);
    if (others.length > 0) out.push({ id, integrations: others });
  }
  return out.sort((x, y) => x.id.localeCompare(y.id));
}
