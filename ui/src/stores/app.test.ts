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
  it("presents an integration named from the list, or the one Costs shows; locks navigation until stopped", () => {
    // The store writes the location hash; the tests run without a DOM.
    vi.stubGlobal("location", { hash: "" });
    vi.stubGlobal("history", { pushState: () => {}, replaceState: () => {} });
    app.screen = "integrations";
    app.vi = null;
    app.large = false;
    // From Integrations without a name there is nothing to present.
    expect(app.present()).toBe(false);
    expect(app.presenting).toBeNull();
    // One click on a row: that integration, the last closed month.
    expect(app.present("Borealis Health")).toBe(true);
    expect(app.presenting).toEqual({ vi: "Borealis Health", month: null });
    // Slides have their own large type: the app's setting is left as it was.
    expect(app.large).toBe(false);
    app.go("costs", "Acme Retail");
    app.selectVi("Globex");
    expect([app.screen, app.vi]).toEqual(["integrations", null]);
    // Presenting again while presenting is refused (stop first).
    expect(app.present("Globex")).toBe(false);
    app.stopPresenting();
    expect(app.presenting).toBeNull();
    // From Costs: the integration it shows; a month when one is given.
    app.go("costs", "Acme Retail");
    expect(app.present()).toBe(true);
    expect(app.presenting).toEqual({ vi: "Acme Retail", month: null });
    app.stopPresenting();
    expect(app.present("Acme Retail", "2026-09")).toBe(true);
    expect(app.presenting).toEqual({ vi: "Acme Retail", month: "2026-09" });
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
