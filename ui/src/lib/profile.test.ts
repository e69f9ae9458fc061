import { describe, expect, it } from "vitest";
import type { Choice } from "../api";
import { capitalized, profileChanged, profileFields, profileForm, toggleExclude } from "./profile";

const TYPES: Choice[] = ["Usage", "Fee", "Tax", "Credit", "Refund"].map((key) => ({ key, words: key.toLowerCase() }));

describe("the presentation profile form", () => {
  it("sends the display name trimmed, and none when empty or the integration's own name", () => {
    const f = (displayName: string) => profileForm("Acme Retail", { displayName, basis: "unblended", exclude: [] }, TYPES);
    expect(f("  Acme Corp GmbH ").display_name).toBe("Acme Corp GmbH");
    expect(f("").display_name).toBeNull();
    expect(f("   ").display_name).toBeNull();
    expect(f("Acme Retail").display_name).toBeNull();
  });

  it("sends the basis as chosen and the left-out types once each, in the options' order", () => {
    const form = profileForm("Acme", { displayName: "", basis: "net_unblended", exclude: ["Tax", "Credit", "Tax"] }, TYPES);
    expect(form).toEqual({ display_name: null, basis: "net_unblended", exclude: ["Tax", "Credit"] });
    // A type the options do not know is kept for the backend to refuse by name.
    expect(profileForm("Acme", { displayName: "", basis: "unblended", exclude: ["Bogus", "Fee"] }, TYPES).exclude).toEqual(["Fee", "Bogus"]);
  });

  it("starts from the integration's profile and says whether saving would change it", () => {
    const row = { profile: { display_name: "Acme Corp GmbH", basis: "net_unblended", exclude: ["Credit", "Tax"] } };
    const fields = profileFields(row);
    expect(fields).toEqual({ displayName: "Acme Corp GmbH", basis: "net_unblended", exclude: ["Credit", "Tax"] });
    const same = profileForm("Acme", fields, TYPES);
    expect(profileChanged(row.profile, same)).toBe(false);
    expect(profileChanged(row.profile, { ...same, exclude: ["Tax", "Credit"] })).toBe(false);
    expect(profileChanged(row.profile, { ...same, exclude: ["Credit"] })).toBe(true);
    expect(profileChanged(row.profile, { ...same, basis: "amortized" })).toBe(true);
    expect(profileChanged(row.profile, { ...same, display_name: null })).toBe(true);
    expect(profileFields({ profile: { display_name: null, basis: "unblended", exclude: [] } }).displayName).toBe("");
  });

  it("ticks and unticks a line item type", () => {
    expect(toggleExclude(["Tax"], "Credit", true)).toEqual(["Tax", "Credit"]);
    expect(toggleExclude(["Tax", "Credit"], "Tax", false)).toEqual(["Credit"]);
    expect(toggleExclude(["Tax"], "Tax", true)).toEqual(["Tax"]);
    expect(capitalized("net unblended cost (after discounts)")).toBe("Net unblended cost (after discounts)");
    expect(capitalized("")).toBe("");
  });
});
