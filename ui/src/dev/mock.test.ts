import { describe, expect, it } from "vitest";
import type {
  ChartView,
  ImportOutcomeRow,
  ImportPlanRow,
  ImportProgress,
  IntegrationRow,
  OrgView,
  ProfileOptions,
  ReviewEstimateView,
  ReviewFiles,
  ReviewPack,
  RulesPreview,
  SyncPlanView,
} from "../api";
import { pathWithin } from "../lib/rules";
import { handle } from "./mock";

// The mock backend (`npm run dev:mock`) resolves rules over its organization
// as the real one does over a demo: OU subtrees, tags, ids, exclusions.

const rules = (over: Partial<{ units: string[]; tags: string[]; accounts: string[]; exclude: string[] }> = {}) => ({
  units: [],
  tags: [],
  accounts: [],
  exclude: [],
  allow_shared: false,
  ...over,
});

describe("the mock backend's rules, sync and import", () => {
  it("resolves an OU rule to the active accounts under it, less exclusions; an unknown OU is refused", async () => {
    const org = (await handle("organization", { refresh: false })) as OrgView;
    const under = org.accounts.filter((a) => pathWithin(a.unit_path, "Customers/Acme Retail"));
    const active = under.filter((a) => a.status === "ACTIVE").map((a) => a.id).sort();
    expect(active.length).toBeGreaterThan(1);
    const p = (await handle("resolve_rules", { name: "Acme", rules: rules({ units: ["Customers/Acme Retail"] }), existing: null })) as RulesPreview;
    expect(p.accounts).toEqual(active);
    expect(p.rules_text).toEqual(["OU Customers/Acme Retail and below"]);
    const x = (await handle("resolve_rules", {
      name: "Acme",
      rules: rules({ units: ["Customers/Acme Retail"], exclude: [active[0]] }),
      existing: null,
    })) as RulesPreview;
    expect(x.accounts).toEqual(active.slice(1));
    await expect(handle("resolve_rules", { name: "Acme", rules: rules({ units: ["Customers/Nowhere"] }), existing: null })).rejects.toMatchObject({
      code: "invalid_input",
    });
  });

  it("imports one integration per customer OU, with progress; then nothing is out of date", async () => {
    const org = (await handle("organization", { refresh: false })) as OrgView;
    const customers = org.units.find((u) => u.path === "Customers")!;
    const children = org.units.filter((u) => u.parent_id === customers.id).map((u) => u.name).sort();
    const plan = (await handle("import_preview", { source: { csv: null, from_ou: "Customers" } })) as ImportPlanRow[];
    expect(plan.map((r) => r.name).sort()).toEqual(children);
    expect(plan.every((r) => r.action === "create")).toBe(true);
    const done = (await handle("run_import", { source: { csv: null, from_ou: "Customers" } })) as ImportOutcomeRow[];
    expect(done.map((o) => o.outcome)).toEqual(children.map(() => "created"));
    const progress = (await handle("import_progress", {})) as ImportProgress;
    expect(progress).toMatchObject({ running: false, total: children.length });
    expect(progress.outcomes).toHaveLength(children.length);
    const again = (await handle("import_preview", { source: { csv: null, from_ou: "Customers" } })) as ImportPlanRow[];
    expect(again.every((r) => r.action === "unchanged")).toBe(true);
    const sync = (await handle("sync_plan", {})) as SyncPlanView;
    expect(sync.out_of_date).toBe(0);
    // A customer's accounts are now held: a tag rule naming them leaves them out, saying by whom.
    const p = (await handle("resolve_rules", {
      name: "Lab",
      rules: rules({ units: ["Sandbox"], tags: ["customer=acme-retail"] }),
      existing: null,
    })) as RulesPreview;
    expect(p.left_out.length).toBeGreaterThan(0);
    expect(p.left_out.every((l) => l.reason.includes("Acme Retail") || l.reason.includes("active"))).toBe(true);
  }, 20_000);

  it("refuses a bad CSV naming every bad row, and makes nothing", async () => {
    const before = ((await handle("integrations", {})) as unknown[]).length;
    const csv = "name,ous,tags\nGood,Sandbox,\nBad OU,Customers/Nowhere,\nBad tag,,envprod\n";
    const call = handle("import_preview", { source: { csv, from_ou: null } });
    await expect(call).rejects.toMatchObject({ code: "invalid_input" });
    const message = await call.catch((e: { message: string }) => e.message);
    expect(message).toContain("line 3 (Bad OU)");
    expect(message).toContain("line 4 (Bad tag)");
    expect(message).not.toContain("line 2");
    expect(((await handle("integrations", {})) as unknown[]).length).toBe(before);
  });
});

describe("the mock backend's sharing (vi share / vi unshare)", () => {
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: { code: string; message: string }) => e);

  it("refuses in a local workspace, saying sharing needs a payer connection", async () => {
    const org = (await handle("organization", { refresh: false })) as OrgView;
    const ids = org.accounts.filter((a) => pathWithin(a.unit_path, "Sandbox")).map((a) => a.id).slice(0, 2);
    await handle("create_integration", { name: "Share local", accounts: ids, allowShared: true });
    const e = await failure(handle("share_integration", { name: "Share local", accounts: ids.slice(0, 1), add: true }));
    expect(e).toMatchObject({ code: "invalid_input" });
    expect(e?.message).toMatch(/open a payer through a connection/);
    const rows = (await handle("integrations", {})) as IntegrationRow[];
    expect(rows.find((r) => r.name === "Share local")?.shared_with).toEqual([]);
  });

  it("on AWS shares only with the integration's own accounts, unshares only those shared, at most 19", async () => {
    await handle("open_connection", { name: "payer" });
    try {
      const org = (await handle("organization", { refresh: false })) as OrgView;
      const mine = org.accounts.filter((a) => pathWithin(a.unit_path, "Shared services")).map((a) => a.id).sort();
      const other = org.accounts.find((a) => !mine.includes(a.id))!.id;
      expect(mine.length).toBeGreaterThan(1);
      await handle("create_integration", { name: "Share aws", accounts: mine, allowShared: true });

      const shared = (await handle("share_integration", { name: "share AWS", accounts: [mine[1]], add: true })) as IntegrationRow;
      expect(shared.shared_with).toEqual([mine[1]]);
      // Someone else's account, with one of its own: refused, naming only the stranger; nothing changes.
      const e = await failure(handle("share_integration", { name: "Share aws", accounts: [mine[0], other], add: true }));
      expect(e).toMatchObject({ code: "invalid_input" });
      expect(e?.message).toBe(`not in 'Share aws': ${other}; a customer's view is only shared with that customer's own accounts`);
      const rows = (await handle("integrations", {})) as IntegrationRow[];
      expect(rows.find((r) => r.name === "Share aws")?.shared_with).toEqual([mine[1]]);
      // Unsharing an account it is not shared with is refused; unsharing the shared one empties it.
      await expect(handle("share_integration", { name: "Share aws", accounts: [mine[0]], add: false })).rejects.toMatchObject({
        code: "invalid_input",
        message: `'Share aws' is not shared with ${mine[0]}`,
      });
      const un = (await handle("share_integration", { name: "Share aws", accounts: [mine[1]], add: false })) as IntegrationRow;
      expect(un.shared_with).toEqual([]);
      // An account leaving the integration is unshared with it.
      await handle("share_integration", { name: "Share aws", accounts: mine.slice(0, 2), add: true });
      const edited = (await handle("update_integration", { name: "Share aws", accounts: mine.slice(1), rename: null, allowShared: true })) as IntegrationRow;
      expect(edited.shared_with).toEqual([mine[1]]);
      // More than 19: refused, naming the limit (shared accounts allowed, so any 20 make one).
      const many = org.accounts.slice(0, 20).map((a) => a.id);
      await handle("create_integration", { name: "Share many", accounts: many, allowShared: true });
      await expect(handle("share_integration", { name: "Share many", accounts: many, add: true })).rejects.toMatchObject({
        code: "invalid_input",
        message: expect.stringMatching(/at most 19 accounts, not 20/),
      });
      expect(((await handle("integrations", {})) as IntegrationRow[]).find((r) => r.name === "Share many")?.shared_with).toEqual([]);
    } finally {
      await handle("open_demo", {});
    }
  }, 20_000);
});

describe("the mock backend's presentation profiles and review packs", () => {
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: { code: string; message: string }) => e);

  it("offers the bases and line item types, saves a profile and states it in words", async () => {
    const options = (await handle("profile_options", {})) as ProfileOptions;
    expect(options.bases.map((b) => b.key)).toEqual(["unblended", "net_unblended", "amortized", "public_on_demand"]);
    expect(options.line_item_types.map((t) => t.key)).toEqual(expect.arrayContaining(["Credit", "Tax", "Usage"]));
    const org = (await handle("organization", { refresh: false })) as OrgView;
    const ids = org.accounts.filter((a) => pathWithin(a.unit_path, "Sandbox")).map((a) => a.id).slice(0, 2);
    const made = (await handle("create_integration", { name: "Profiled", accounts: ids, allowShared: true })) as IntegrationRow;
    expect(made.display_name).toBe("Profiled");
    expect(made.basis_words).toBe("Unblended cost (as billed); nothing left out.");
    const row = (await handle("set_profile", {
      name: "profiled",
      profile: { display_name: " Acme Corp GmbH ", basis: "net_unblended", exclude: ["Tax", "Credit"] },
    })) as IntegrationRow;
    expect(row.profile).toEqual({ display_name: "Acme Corp GmbH", basis: "net_unblended", exclude: ["Credit", "Tax"] });
    expect(row.display_name).toBe("Acme Corp GmbH");
    expect(row.basis_words).toBe("Net unblended cost (after discounts); credits and tax left out.");
    // The list says the same; an edit keeps the profile.
    const listed = ((await handle("integrations", {})) as IntegrationRow[]).find((r) => r.name === "Profiled")!;
    expect(listed.basis_words).toBe(row.basis_words);
    const edited = (await handle("update_integration", { name: "Profiled", accounts: ids.slice(0, 1), rename: null, allowShared: true })) as IntegrationRow;
    expect(edited.display_name).toBe("Acme Corp GmbH");
    // Refusals name what is wrong and change nothing.
    expect(await failure(handle("set_profile", { name: "Profiled", profile: { display_name: null, basis: "cheapest", exclude: [] } }))).toMatchObject({
      code: "invalid_input",
      message: expect.stringMatching(/'cheapest' is not a cost basis/),
    });
    expect(await failure(handle("set_profile", { name: "Profiled", profile: { display_name: null, basis: "unblended", exclude: ["Bogus"] } }))).toMatchObject({
      code: "invalid_input",
      message: expect.stringMatching(/'Bogus' is not a line item type/),
    });
    expect(((await handle("integrations", {})) as IntegrationRow[]).find((r) => r.name === "Profiled")!.profile.basis).toBe("net_unblended");
  });

  it("estimates, makes and writes a pack of the last closed month by default; a month not begun is refused", async () => {
    const now = new Date();
    const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
    const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 7);
    const e = (await handle("review_estimate", { name: "Profiled", month: null })) as ReviewEstimateView;
    expect(e.month).toBe(last);
    expect(e.words).toMatch(/^Nothing: a local workspace/);
    const p = (await handle("review_pack", { name: "Profiled", month: null })) as ReviewPack;
    expect(p.month).toBe(last);
    expect(p.estimated).toBe(false);
    expect(p.pages.map((x) => x.id)).toEqual(["cover", "total", "trend", "services", "movers", "accounts", "daily", "appendix"]);
    expect(p.pages[0].title).toMatch(/^AWS cost review: [A-Z][a-z]+ \d{4}$/);
    const open = (await handle("review_pack", { name: "Profiled", month: now.toISOString().slice(0, 7) })) as ReviewPack;
    expect(open.estimated).toBe(true);
    expect(open.pages.map((x) => x.id)).toContain("forecast");
    const files = (await handle("write_review_pack", { name: "Profiled", month: null })) as ReviewFiles;
    expect(files.pdf).toMatch(new RegExp(`Profiled-${last}\\.pdf$`));
    expect(files.pngs).toHaveLength(2);
    expect(files.csvs).toHaveLength(4);
    await expect(handle("review_estimate", { name: "Profiled", month: next })).rejects.toMatchObject({
      code: "invalid_input",
      message: expect.stringMatching(/has not begun/),
    });
    await expect(handle("review_pack", { name: "Profiled", month: "2026-13" })).rejects.toMatchObject({ code: "invalid_input" });
  }, 20_000);

  it("draws a chart at the size asked, naming services as customers know them", async () => {
    const v = (await handle("chart", { request: { integration: "Profiled", kind: "stacked", large: false, width: 680, height: 320 } })) as ChartView;
    expect(v.svg).toMatch(/^<svg width="680" height="320"/);
    expect(v.points[0].labels[0]).toMatch(/^Amazon /);
    expect(v.total_text).toMatch(/^\$[\d,]+\.\d\d$/);
    expect(v.basis_words).toMatch(/left out\.$/);
    await expect(handle("chart", { request: { integration: "Profiled", kind: "stacked", large: false, width: 100, height: 100 } })).rejects.toMatchObject({
      code: "invalid_input",
    });
  });
});
