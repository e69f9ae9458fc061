import { describe, expect, it } from "vitest";
import { baseName, filesSummary, monthInput, mustSayTheSpend } from "./review";

describe("the review pack's month field", () => {
  it("empty means the last closed month", () => {
    expect(monthInput("")).toEqual({ month: null, error: null });
    expect(monthInput("   ")).toEqual({ month: null, error: null });
  });

  it("takes YYYY-MM, padding a one-digit month", () => {
    expect(monthInput("2026-11")).toEqual({ month: "2026-11", error: null });
    expect(monthInput(" 2026-3 ")).toEqual({ month: "2026-03", error: null });
  });

  it("refuses anything else, saying how to write it", () => {
    for (const bad of ["2026-13", "2026-00", "11/2026", "2026", "2026-11-01", "Nov 2026"]) {
      const r = monthInput(bad);
      expect(r.month).toBeNull();
      expect(r.error).toMatch(/YYYY-MM/);
    }
  });
});

describe("the files written", () => {
  it("counts them and names the PDF by its file name", () => {
    expect(filesSummary({ pngs: ["a.png", "b.png"], csvs: ["a.csv"] })).toBe("1 PDF, 2 PNGs, 1 CSV");
    expect(filesSummary({ pngs: [], csvs: [] })).toBe("1 PDF, 0 PNGs, 0 CSVs");
    expect(baseName("/tmp/saved/Acme-2026-10.pdf")).toBe("Acme-2026-10.pdf");
    expect(baseName("C:\\Reviews\\Acme-2026-10.pdf")).toBe("Acme-2026-10.pdf");
  });
});

describe("presenting on a payer", () => {
  it("says what the pack will spend before making it, unless it spends nothing", () => {
    const spends = { ce_requests: 4, athena_queries: 0 };
    const athena = { ce_requests: 0, athena_queries: 4 };
    const free = { ce_requests: 0, athena_queries: 0 };
    expect(mustSayTheSpend("aws", false, spends)).toBe(true);
    expect(mustSayTheSpend("aws", false, athena)).toBe(true);
    expect(mustSayTheSpend("aws", false, free)).toBe(false);
    expect(mustSayTheSpend("aws", true, spends)).toBe(false);
    expect(mustSayTheSpend("demo", false, spends)).toBe(false);
    expect(mustSayTheSpend("local", false, spends)).toBe(false);
  });
});
