import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api";
import { app, formatHash, parseHash } from "./app.svelte";

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

describe("presenting one integration", () => {
  it("needs the Costs screen and an integration, then locks navigation until stopped", () => {
    // The store writes the location hash; the tests run without a DOM.
    vi.stubGlobal("location", { hash: "" });
    vi.stubGlobal("history", { pushState: () => {}, replaceState: () => {} });
    app.screen = "integrations";
    app.vi = null;
    expect(app.present()).toBe(false);
    app.screen = "costs";
    app.vi = "Acme Retail";
    expect(app.present()).toBe(true);
    expect(app.large).toBe(true);
    app.go("integrations");
    app.selectVi("Globex");
    expect([app.screen, app.vi]).toEqual(["costs", "Acme Retail"]);
    app.stopPresenting();
    app.go("integrations");
    expect(app.screen).toBe("integrations");
    vi.unstubAllGlobals();
  });
});

describe("the error banner", () => {
  it("shows a failure, but not a query the user cancelled", async () => {
    expect(await app.attempt(() => Promise.reject(new ApiError("cancelled", "the query was cancelled")))).toBeUndefined();
    expect(app.error).toBeNull();
    await app.attempt(() => Promise.reject(new ApiError("not_healthy", "'Acme' is drift")));
    expect(app.error?.code).toBe("not_healthy");
    app.dismiss();
  });
});
