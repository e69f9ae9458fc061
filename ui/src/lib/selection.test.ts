import { describe, expect, it } from "vitest";
import {
  accountsUnder,
  addAll,
  buildTree,
  countSelected,
  diff,
  removeAll,
  selectUnit,
  sharedAccounts,
  toggle,
  type TreeAccount,
  type TreeUnit,
} from "./selection";

const units: TreeUnit[] = [
  { id: "r", name: "Root", parent_id: null, path: "" },
  { id: "cust", name: "Customers", parent_id: "r", path: "Customers" },
  { id: "acme", name: "Acme", parent_id: "cust", path: "Customers/Acme" },
  { id: "acme-prod", name: "prod", parent_id: "acme", path: "Customers/Acme/prod" },
  { id: "acme-dev", name: "dev", parent_id: "acme", path: "Customers/Acme/dev" },
  { id: "bor", name: "Borealis", parent_id: "cust", path: "Customers/Borealis" },
  { id: "shared", name: "Shared", parent_id: "r", path: "Shared" },
];
const accounts: TreeAccount[] = [
  { id: "000000000001", unit_id: "r" },
  { id: "000000000002", unit_id: "acme" },
  { id: "000000000003", unit_id: "acme-prod" },
  { id: "000000000004", unit_id: "acme-prod" },
  { id: "000000000005", unit_id: "acme-dev" },
  { id: "000000000006", unit_id: "bor" },
  { id: "000000000007", unit_id: "shared" },
];
const tree = buildTree(units, accounts);

describe("buildTree", () => {
  it("finds the root and sorts children by name", () => {
    expect(tree.roots).toEqual(["r"]);
    expect(tree.children.get("r")).toEqual(["cust", "shared"]);
    expect(tree.children.get("acme")).toEqual(["acme-dev", "acme-prod"]);
  });

  it("collects accounts under a unit recursively", () => {
    expect([...accountsUnder(tree, "acme")].sort()).toEqual(["000000000002", "000000000003", "000000000004", "000000000005"]);
    expect(accountsUnder(tree, "acme-prod")).toEqual(["000000000003", "000000000004"]);
    expect(accountsUnder(tree, "r")).toHaveLength(7);
    expect(accountsUnder(tree, "missing")).toEqual([]);
  });

  it("survives a cycle in bad data", () => {
    const t = buildTree(
      [
        { id: "a", name: "a", parent_id: "b", path: "a" },
        { id: "b", name: "b", parent_id: "a", path: "b" },
      ],
      [{ id: "000000000009", unit_id: "a" }],
    );
    expect(accountsUnder(t, "a")).toContain("000000000009");
  });
});

describe("selection", () => {
  it("selecting a unit adds every account below it and keeps the rest", () => {
    const start = new Set(["000000000007"]);
    const next = selectUnit(start, tree, "acme");
    expect([...next].sort()).toEqual(["000000000002", "000000000003", "000000000004", "000000000005", "000000000007"]);
    expect(start.size).toBe(1); // immutable
  });

  it("selecting a unit twice changes nothing", () => {
    const once = selectUnit(new Set(), tree, "cust");
    const twice = selectUnit(once, tree, "cust");
    expect([...twice].sort()).toEqual([...once].sort());
    expect(once.size).toBe(5);
  });

  it("toggles, adds and removes", () => {
    let s = toggle(new Set(), "000000000001");
    expect(s.has("000000000001")).toBe(true);
    s = toggle(s, "000000000001");
    expect(s.size).toBe(0);
    s = addAll(s, ["000000000001", "000000000002"]);
    s = removeAll(s, ["000000000001"]);
    expect([...s]).toEqual(["000000000002"]);
  });

  it("counts the selected accounts of a unit", () => {
    const s = new Set(["000000000003", "000000000006"]);
    expect(countSelected(s, accountsUnder(tree, "acme"))).toBe(1);
    expect(countSelected(s, accountsUnder(tree, "cust"))).toBe(2);
  });
});

describe("diff", () => {
  it("lists what is added and removed, sorted", () => {
    expect(diff(["3", "1", "2"], new Set(["2", "5", "4"]))).toEqual({ added: ["4", "5"], removed: ["1", "3"] });
  });

  it("is empty when nothing changed", () => {
    expect(diff(["1", "2"], ["2", "1"])).toEqual({ added: [], removed: [] });
  });

  it("adds everything for a new integration", () => {
    expect(diff([], ["2", "1"])).toEqual({ added: ["1", "2"], removed: [] });
  });
});

describe("sharedAccounts", () => {
  const memberOf = new Map<string, string[]>([
    ["1", ["Acme"]],
    ["2", ["Acme", "Borealis"]],
  ]);

  it("lists selected accounts already in another integration", () => {
    expect(sharedAccounts(new Set(["1", "2", "3"]), memberOf)).toEqual([
      { id: "1", integrations: ["Acme"] },
      { id: "2", integrations: ["Acme", "Borealis"] },
    ]);
  });

  it("ignores the integration being edited (any case)", () => {
    expect(sharedAccounts(new Set(["1", "2"]), memberOf, "acme")).toEqual([{ id: "2", integrations: ["Borealis"] }]);
  });
});
