import { describe, expect, it } from "vitest";
import {
  ceRequestCost,
  count,
  dateText,
  dayBefore,
  emptyListMessage,
  isNegative,
  isoShort,
  isZero,
  money,
  moneyChange,
  monthText,
  rangeText,
  toCents,
  unitLabel,
} from "./format";

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

describe("dates in one format", () => {
  it("shortens ISO timestamps to the day as customers read it, with the time", () => {
    expect(isoShort("2026-11-26T17:18:58.842Z")).toBe("26 Nov 2026 17:18 UTC");
    expect(isoShort("2026-11-26T17:18:58Z")).toBe("26 Nov 2026 17:18 UTC");
    expect(isoShort("2026-11-26T17:18:58+02:00")).toBe("26 Nov 2026 17:18 +02:00");
    expect(isoShort("2026-11-26")).toBe("26 Nov 2026");
    expect(isoShort("yesterday")).toBe("yesterday");
  });

  it("writes a day as `2 Nov 2026` and a month as `November 2026`", () => {
    expect(dateText("2026-11-02")).toBe("2 Nov 2026");
    expect(dateText("2026-01-31T23:00:00Z")).toBe("31 Jan 2026");
    expect(dateText("2026-13-02")).toBe("2026-13-02");
    expect(dateText("not a date")).toBe("not a date");
    expect(monthText("2026-11")).toBe("November 2026");
    expect(monthText("2026-09-01")).toBe("September 2026");
    expect(monthText("2026-00")).toBe("2026-00");
  });

  it("writes a range whose end is the first day not included as its last day", () => {
    expect(dayBefore("2026-12-01")).toBe("2026-11-30");
    expect(dayBefore("2026-03-01")).toBe("2026-02-28");
    expect(rangeText("2025-12-01", "2026-12-01")).toBe("1 Dec 2025 to 30 Nov 2026");
  });
});

describe("amounts as customers read them", () => {
  it("writes the cent, thousands separators and the currency, as the backend's money does", () => {
    expect(money("1234567.891", "USD")).toBe("$1,234,567.89");
    expect(money("-3.1", "USD")).toBe("-$3.10");
    expect(money("999.995", "EUR")).toBe("€1,000.00");
    expect(money("-0.001", "USD")).toBe("$0.00");
    expect(money("12", "CHF")).toBe("CHF 12.00");
    expect(money("0.125", "GBP")).toBe("£0.13");
    expect(money("100", "")).toBe("$100.00");
    expect(money("n/a", "USD")).toBe("n/a");
  });

  it("signs a change", () => {
    expect(moneyChange("5", "USD")).toBe("+$5.00");
    expect(moneyChange("-1234.5", "USD")).toBe("-$1,234.50");
    expect(moneyChange("0.001", "USD")).toBe("$0.00");
  });

  it("reads decimal strings exactly, in cents", () => {
    expect(toCents("0.1")).toBe(10n);
    expect(toCents("-12.345")).toBe(-1235n);
    expect(toCents(".5")).toBe(50n);
    expect(toCents("")).toBeNull();
    expect(toCents("1e3")).toBeNull();
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
