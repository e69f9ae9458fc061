import { describe, expect, it } from "vitest";
import { buildIndex, filterIndex, haystack, terms, type Searchable } from "./filter";

const accounts: Searchable[] = [
  { id: "111111111111", name: "Acme Prod", unit_path: "Customers/Acme Retail/prod", tags: [["customer", "acme-retail"], ["env", "prod"]] },
  { id: "222222222222", name: "Acme Dev", unit_path: "Customers/Acme Retail/dev", tags: [["customer", "acme-retail"], ["env", "dev"]] },
  { id: "333333333333", name: "Borealis Prod", unit_path: "Customers/Borealis Health/prod", tags: [["customer", "borealis"], ["env", "prod"]] },
  { id: "444444444444", name: "Shared Logging", unit_path: "Shared services", tags: [] },
  { id: "555555555555", name: "MSP Payer", unit_path: "", tags: [["env", "management"]] },
];
const index = buildIndex(accounts);
const ids = (q: string) => filterIndex(index, q).map((i) => accounts[i].id);

describe("filter", () => {
  it("shows everything for a blank search", () => {
    expect(ids("")).toHaveLength(5);
    expect(ids("   ")).toHaveLength(5);
  });

  it("matches ids by substring", () => {
    expect(ids("3333")).toEqual(["333333333333"]);
  });

  it("matches names case-insensitively", () => {
    expect(ids("ACME")).toEqual(["111111111111", "222222222222"]);
    expect(ids("logging")).toEqual(["444444444444"]);
  });

  it("matches unit paths", () => {
    expect(ids("borealis health")).toEqual(["333333333333"]);
    expect(ids("customers/acme")).toEqual(["111111111111", "222222222222"]);
  });

  it("matches tags as key=value", () => {
    expect(ids("env=prod")).toEqual(["111111111111", "333333333333"]);
    expect(ids("customer=acme")).toEqual(["111111111111", "222222222222"]);
    expect(ids("env=management")).toEqual(["555555555555"]);
  });

  it("needs every word to match (AND)", () => {
    expect(ids("acme prod")).toEqual(["111111111111"]);
    expect(ids("env=prod borealis")).toEqual(["333333333333"]);
    expect(ids("acme borealis")).toEqual([]);
  });

  it("keeps the accounts' order", () => {
    expect(ids("prod")).toEqual(["111111111111", "333333333333"]);
  });

  it("does not match across the end of one field and the start of the next", () => {
    // name "Acme Prod" + unit "Customers/..." must not make "prodcustomers" match
    expect(ids("prodcustomers")).toEqual([]);
    expect(haystack(accounts[0])).toContain("customer=acme-retail");
  });

  it("splits words on any whitespace and lowercases them", () => {
    expect(terms("  Acme\tPROD \n")).toEqual(["acme", "prod"]);
    expect(terms("")).toEqual([]);
  });
});
