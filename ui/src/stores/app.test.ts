import { describe, expect, it } from "vitest";
import { formatHash, parseHash } from "./app.svelte";

describe("location hash", () => {
  it("round-trips a screen and an integration", () => {
    const h = formatHash("costs", "Acme Retail/EU");
    expect(h).toBe("#/costs/Acme%20Retail%2FEU");
    expect(parseHash(h)).toEqual({ screen: "costs", vi: "Acme Retail/EU" });
  });

  it("falls back to Integrations", () => {
    expect(parseHash("")).toEqual({ screen: "integrations", vi: null });
    expect(parseHash("#/nope")).toEqual({ screen: "integrations", vi: null });
    expect(parseHash("#/query/%E0%A4%A")).toEqual({ screen: "query", vi: null });
  });
});
