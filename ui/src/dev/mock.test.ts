import { describe, expect, it } from "vitest";
import type { ImportOutcomeRow, ImportPlanRow, ImportProgress, OrgView, RulesPreview, SyncPlanView } from "../api";
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
