import { describe, expect, it } from "vitest";
import {
  addTag,
  addUnit,
  chips,
  hasRules,
  namedByRules,
  NO_RULES,
  outOfDateText,
  pathWithin,
  removeChip,
  rulesForm,
  sameRules,
  setExcluded,
  syncSummary,
  unitPathOf,
  withName,
  type RuleAccount,
  type RuleUnit,
} from "./rules";

const units: RuleUnit[] = [
  { id: "r-1", path: "" },
  { id: "ou-cust", path: "Customers" },
  { id: "ou-acme", path: "Customers/Acme" },
  { id: "ou-acme-prod", path: "Customers/Acme/prod" },
  { id: "ou-acme2", path: "Customers/Acme2" },
];
const accounts: RuleAccount[] = [
  { id: "000000000001", unit_path: "", tags: [["env", "management"]] },
  { id: "000000000002", unit_path: "Customers/Acme", tags: [["customer", "acme"]] },
  { id: "000000000003", unit_path: "Customers/Acme/prod", tags: [["env", "prod"]] },
  { id: "000000000004", unit_path: "Customers/Acme2", tags: [["env", "prod"]] },
  { id: "000000000005", unit_path: "Customers/acme/prod", tags: [] },
];

describe("rules", () => {
  it("starts without rules; an OU, a tag or an exclusion is a rule", () => {
    expect(hasRules(NO_RULES)).toBe(false);
    expect(hasRules(addUnit(NO_RULES, "Customers/Acme"))).toBe(true);
    expect(hasRules(addTag(NO_RULES, "env", "prod"))).toBe(true);
    expect(hasRules(setExcluded(NO_RULES, "000000000002", true))).toBe(true);
  });

  it("adds a rule once (an OU path case-insensitively) and leaves the input alone", () => {
    const a = addUnit(NO_RULES, "Customers/Acme");
    expect(addUnit(a, "customers/acme")).toBe(a);
    expect(NO_RULES.units).toEqual([]);
    const t = addTag(a, "env", "prod");
    expect(addTag(t, "env", "prod")).toBe(t);
    expect(t.tags).toEqual(["env=prod"]);
    expect(a.tags).toEqual([]);
  });

  it("excludes and includes again", () => {
    const x = setExcluded(NO_RULES, "000000000003", true);
    expect(x.exclude).toEqual(["000000000003"]);
    expect(setExcluded(x, "000000000003", true)).toBe(x);
    expect(setExcluded(x, "000000000003", false).exclude).toEqual([]);
  });

  it("shows one chip per rule, in words, and a chip's removal drops only its rule", () => {
    let r = addUnit(NO_RULES, "Customers/Acme");
    r = addTag(r, "env", "prod");
    r = setExcluded(r, "000000000003", true);
    r = addUnit(r, "");
    const c = chips(r, new Map([["000000000003", "Acme prod"]]));
    expect(c.map((x) => x.label)).toEqual([
      "OU Customers/Acme and below",
      "OU (root) and below",
      "tagged env=prod",
      "not 000000000003 (Acme prod)",
    ]);
    expect(removeChip(r, c[0])).toEqual({ units: [""], tags: ["env=prod"], exclude: ["000000000003"] });
    expect(removeChip(r, c[2]).tags).toEqual([]);
    expect(removeChip(r, c[3]).exclude).toEqual([]);
  });

  it("builds the form the backend takes: ids sorted and unique, the rules as they are", () => {
    const r = setExcluded(addUnit(NO_RULES, "Customers"), "000000000004", true);
    expect(rulesForm(r, ["000000000009", "000000000001", "000000000009"], true)).toEqual({
      units: ["Customers"],
      tags: [],
      accounts: ["000000000001", "000000000009"],
      exclude: ["000000000004"],
      allow_shared: true,
    });
  });

  it("compares forms regardless of order", () => {
    const a = rulesForm({ units: ["A", "B"], tags: [], exclude: [] }, ["2", "1"], false);
    const b = rulesForm({ units: ["B", "A"], tags: [], exclude: [] }, ["1", "2"], false);
    expect(sameRules(a, b)).toBe(true);
    expect(sameRules(a, { ...b, allow_shared: true })).toBe(false);
    expect(sameRules(a, { ...b, exclude: ["3"] })).toBe(false);
  });

  it("reads an OU rule by id or by path", () => {
    expect(unitPathOf("ou-acme", units)).toBe("Customers/Acme");
    expect(unitPathOf("/Customers/Acme", units)).toBe("Customers/Acme");
    expect(unitPathOf("Root/Customers", units)).toBe("Customers");
    expect(unitPathOf("Root", units)).toBe("");
  });

  it("takes a unit's subtree, not a unit whose name merely starts the same", () => {
    expect(pathWithin("Customers/Acme/prod", "Customers/Acme")).toBe(true);
    expect(pathWithin("Customers/Acme", "customers/acme")).toBe(true);
    expect(pathWithin("Customers/Acme2", "Customers/Acme")).toBe(false);
    expect(pathWithin("Customers", "")).toBe(true);
  });

  it("names the accounts under an OU (and below) or carrying a tag", () => {
    expect([...namedByRules(NO_RULES, units, accounts)]).toEqual([]);
    expect([...namedByRules(addUnit(NO_RULES, "ou-acme"), units, accounts)].sort()).toEqual([
      "000000000002",
      "000000000003",
      "000000000005",
    ]);
    expect([...namedByRules(addTag(NO_RULES, "env", "prod"), units, accounts)].sort()).toEqual([
      "000000000003",
      "000000000004",
    ]);
    expect(namedByRules(addUnit(NO_RULES, ""), units, accounts).size).toBe(accounts.length);
  });

  it("says a sync row and the banner in words", () => {
    expect(syncSummary({ added: ["1", "2"], removed: ["3"], left_out: [] })).toBe("+2 −1");
    expect(syncSummary({ added: [], removed: [], left_out: [{}] })).toBe("no change · 1 left out");
    expect(outOfDateText(1)).toBe("1 integration out of date");
    expect(outOfDateText(2)).toBe("2 integrations out of date");
    expect(withName("000000000003", new Map([["000000000003", "Acme prod"]]))).toBe("000000000003 Acme prod");
    expect(withName("000000000009", new Map())).toBe("000000000009");
  });
});
