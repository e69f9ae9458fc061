import { describe, expect, it } from "vitest";
import { ceRequestCost, count, emptyListMessage, isNegative, isoShort, isZero, unitLabel } from "./format";

describe("format", () => {
  it("prices Cost Explorer requests at USD 0.01 each, without float drift", () => {
    expect(ceRequestCost(0)).toBe("0.00");
    expect(ceRequestCost(3)).toBe("0.03");
    expect(ceRequestCost(110)).toBe("1.10");
    expect(ceRequestCost(12345)).toBe("123.45");
  });

  it("labels the root unit", () => {
    expect(unitLabel("")).toBe("(root)");
    expect(unitLabel("Customers/Acme")).toBe("Customers/Acme");
  });

  it("reads the sign of decimal strings", () => {
    expect(isNegative("-12.30")).toBe(true);
    expect(isNegative("12.30")).toBe(false);
    expect(isZero("0")).toBe(true);
    expect(isZero("0.00")).toBe(true);
    expect(isZero("-0.00")).toBe(true);
    expect(isZero("0.01")).toBe(false);
    expect(isZero("")).toBe(false);
  });

  it("pluralises", () => {
    expect(count(1, "account")).toBe("1 account");
    expect(count(10000, "account")).toBe("10,000 accounts");
  });
});

describe("isoShort", () => {
  it("shortens ISO timestamps and leaves other text alone", () => {
    expect(isoShort("2026-11-26T17:18:58.842Z")).toBe("2026-11-26 17:18 UTC");
    expect(isoShort("2026-11-26T17:18:58Z")).toBe("2026-11-26 17:18 UTC");
    expect(isoShort("2026-11-26T17:18:58+02:00")).toBe("2026-11-26 17:18 +02:00");
    expect(isoShort("2026-11-26")).toBe("2026-11-26");
  });
});

describe("emptyListMessage", () => {
  it('says "no integrations yet" only when nothing of CostCarve\'s is there', () => {
    expect(emptyListMessage([])).toMatch(/^No integrations yet\./);
    const left = emptyListMessage(["vi_acme"]);
    expect(left).not.toMatch(/yet/);
    expect(left).toContain("1 Athena view of CostCarve's has no billing view");
    expect(emptyListMessage(["vi_a", "vi_b"])).toContain("2 Athena views of CostCarve's have no billing view");
  });
});
