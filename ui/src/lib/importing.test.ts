import { describe, expect, it } from "vitest";

import { importCounts, importRunLabel, sourceLabel } from "./importing";

describe("import words", () => {
  it("labels the Create button by how many rows create", () => {
    expect(importRunLabel(8)).toBe("Create 8 integrations");
    expect(importRunLabel(1)).toBe("Create 1 integration");
    expect(importRunLabel(0)).toBe("Nothing to create");
  });

  it("counts outcomes, anything not created or unchanged as failed", () => {
    expect(importCounts([{ outcome: "created" }, { outcome: "created" }, { outcome: "unchanged" }, { outcome: "failed" }])).toEqual({
      created: 2,
      unchanged: 1,
      failed: 1,
    });
    expect(importCounts([])).toEqual({ created: 0, unchanged: 0, failed: 0 });
  });

  it("says where the rows come from", () => {
    expect(sourceLabel({ csv: "name\nA", from_ou: null }, "customers.csv")).toBe("From customers.csv");
    expect(sourceLabel({ csv: "name\nA", from_ou: null })).toBe("From the pasted CSV");
    expect(sourceLabel({ csv: null, from_ou: "Customers" })).toBe("One integration per OU below Customers");
  });
});
