import { describe, expect, it } from "vitest";
import {
  MAX_SHARED,
  filterChoices,
  shareButtonText,
  shareChoices,
  shareProblem,
  sharedAccounts,
  sharedAfter,
  sharedWithText,
  sharingOffered,
} from "./sharing";

const names = new Map([
  ["111111111111", "Acme prod 1"],
  ["222222222222", "Acme dev 1"],
  ["333333333333", "Acme billing"],
  ["999999999999", "Borealis prod 1"],
]);
const acme = { accounts: ["111111111111", "222222222222", "333333333333", "444444444444"], shared_with: ["333333333333"] };

describe("sharing a customer's view", () => {
  it("is offered only in an AWS workspace", () => {
    expect(sharingOffered("aws")).toBe(true);
    for (const kind of ["demo", "local", "", null, undefined]) expect(sharingOffered(kind)).toBe(false);
  });

  it("names the accounts shared with from the organization, or says it is not shared", () => {
    expect(sharedWithText(sharedAccounts({ ...acme, shared_with: [] }, names))).toBe("Not shared");
    const shared = sharedAccounts({ ...acme, shared_with: ["333333333333", "444444444444", "999999999999"] }, names);
    expect(shared).toEqual([
      { id: "333333333333", name: "Acme billing", member: true },
      { id: "444444444444", name: null, member: true },
      { id: "999999999999", name: "Borealis prod 1", member: false },
    ]);
    expect(sharedWithText(shared)).toBe(
      "Shared with: Acme billing (333333333333); 444444444444; Borealis prod 1 (999999999999), not one of its accounts",
    );
    expect(sharedWithText(shared, 2)).toBe("Shared with: Acme billing (333333333333); 444444444444 and 1 more");
    expect(sharedWithText(shared, 3)).toBe(sharedWithText(shared));
  });

  it("lists only the integration's own accounts: all of them to share, the shared ones to unshare", () => {
    const drifted = { ...acme, shared_with: ["333333333333", "999999999999"] };
    const share = shareChoices(drifted, names, "share");
    expect(share.map((c) => c.id)).toEqual(["333333333333", "222222222222", "111111111111", "444444444444"]);
    expect(share.find((c) => c.id === "333333333333")?.shared).toBe(true);
    expect(share.some((c) => c.id === "999999999999")).toBe(false);
    const unshare = shareChoices(drifted, names, "unshare");
    expect(unshare).toEqual([{ id: "333333333333", name: "Acme billing", shared: true }]);
  });

  it("filters the list by every word of the query, in names and ids", () => {
    const all = shareChoices(acme, names, "share");
    expect(filterChoices(all, "").length).toBe(4);
    expect(filterChoices(all, "acme PROD").map((c) => c.id)).toEqual(["111111111111"]);
    expect(filterChoices(all, "4444").map((c) => c.id)).toEqual(["444444444444"]);
    expect(filterChoices(all, "borealis")).toEqual([]);
  });

  it("refuses more than 19 accounts shared, as the backend does", () => {
    const current = Array.from({ length: MAX_SHARED - 1 }, (_, i) => String(100000000000 + i));
    expect(sharedAfter(current, ["100000000000"], "share")).toBe(MAX_SHARED - 1);
    expect(shareProblem(current, new Set(["200000000000"]), "share")).toBeNull();
    expect(shareProblem(current, new Set(["200000000000", "200000000001"]), "share")).toMatch(/at most 19 accounts, not 20/);
    expect(sharedAfter(current, ["100000000000"], "unshare")).toBe(MAX_SHARED - 2);
    expect(shareProblem(current, new Set(current), "unshare")).toBeNull();
  });

  it("says what the button does", () => {
    expect(shareButtonText("share", 1)).toBe("Share with 1 account");
    expect(shareButtonText("share", 2)).toBe("Share with 2 accounts");
    expect(shareButtonText("unshare", 1)).toBe("Stop sharing with 1 account");
    expect(shareButtonText("share", 0)).toMatch(/^Tick/);
  });
});
