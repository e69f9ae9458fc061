// An in-memory backend for working on the UI in a plain browser
// (`npm run dev:mock`). Only loaded in `--mode mock`; production builds
// leave it out. URL options: `?accounts=10000` (organization size),
// `?kind=aws` (an AWS-looking workspace with drift and request counts).

import { mockIPC } from "@tauri-apps/api/mocks";
import { namedByRules, unitPathOf } from "../lib/rules";
import { centsText, money, moneyChange, monthText, dateText } from "../lib/format";
import type {
  AccountRow,
  ChartRequest,
  ChartView,
  Choice,
  PackPage,
  ProfileForm,
  ReviewEstimateView,
  ReviewFiles,
  ReviewPack,
  CheckRow,
  ConnectionForm,
  ConnectionRow,
  ErrorCode,
  ImportOutcomeRow,
  ImportPlanRow,
  ImportProgress,
  ImportSource,
  IntegrationRow,
  LeftOutRow,
  OrgView,
  RulesForm,
  UnitRow,
  WorkspaceInfo,
} from "../api";

type Args = Record<string, unknown>;

// (No `location` under vitest, which drives `handle` directly.)
const params = new URLSearchParams(globalThis.location?.search ?? "");
const ACCOUNTS = Math.max(1, Number(params.get("accounts") ?? "60") || 60);
const AWS = params.get("kind") === "aws";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const CUSTOMERS = ["Acme Retail", "Borealis Health", "Cobalt Logistics", "Dunmore Foods", "Elm Street Media"];

function makeOrg(): OrgView {
  const rand = rng(42);
  const units: UnitRow[] = [{ id: "r-root", name: "Root", parent_id: null, path: "" }];
  const unit = (id: string, name: string, parent: string) => {
    const p = units.find((u) => u.id === parent)!;
    units.push({ id, name, parent_id: parent, path: p.path ? `${p.path}/${name}` : name });
  };
  unit("ou-cust", "Customers", "r-root");
  unit("ou-shared", "Shared services", "r-root");
  unit("ou-sandbox", "Sandbox", "r-root");
  const extra = Math.max(0, Math.ceil(ACCOUNTS / 40) - CUSTOMERS.length);
  const customers = [...CUSTOMERS, ...Array.from({ length: extra }, (_, i) => `Customer ${String(i + 1).padStart(3, "0")}`)];
  customers.forEach((c, i) => {
    unit(`ou-c${i}`, c, "ou-cust");
    unit(`ou-c${i}-prod`, "prod", `ou-c${i}`);
    unit(`ou-c${i}-dev`, "dev", `ou-c${i}`);
  });
  const leafs = units.filter((u) => u.name === "prod" || u.name === "dev" || u.id === "ou-shared" || u.id === "ou-sandbox");
  const accounts: AccountRow[] = [];
  const used = new Set<string>();
  for (let i = 0; i < ACCOUNTS; i++) {
    let id = "";
    do id = String(Math.floor(100000000000 + rand() * 899999999999)); while (used.has(id));
    used.add(id);
    const u = i === 0 ? units[0] : leafs[i % leafs.length];
    const customer = u.path.startsWith("Customers/") ? u.path.split("/")[1] : null;
    const env = u.name === "prod" || u.name === "dev" ? u.name : u.name.toLowerCase();
    const tags: [string, string][] = [["env", env]];
    if (customer) tags.unshift(["customer", customer.toLowerCase().replace(/ /g, "-")]);
    if (rand() < 0.3) tags.push(["team", ["data", "web", "platform"][Math.floor(rand() * 3)]]);
    accounts.push({
      id,
      name: i === 0 ? "MSP Payer" : `${customer ?? u.name} ${env} ${Math.floor(i / leafs.length) + 1}`,
      status: rand() < 0.02 ? "SUSPENDED" : "ACTIVE",
      unit_id: u.id,
      unit_path: u.path,
      tags,
      integrations: [],
    });
  }
  return { units, accounts, fetched_at: AWS ? new Date().toISOString() : null };
}

const org = makeOrg();
let integrations: IntegrationRow[] = [];
let connections: ConnectionRow[] = [];
let workspace: WorkspaceInfo = AWS
  ? { kind: "aws", label: "prod-payer", payer: "235004010531", data_as_of: new Date().toISOString(), recovery: [] }
  : { kind: "demo", label: "/home/user/.local/share/costcarve/demo", payer: null, data_as_of: null, recovery: [] };
let ceTotal = 0;
let movedOnce = false;
let running: (() => void) | null = null;

function fail(code: ErrorCode, message: string): never {
  throw { code, message };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function members() {
  for (const a of org.accounts) {
    a.integrations = integrations.filter((v) => v.accounts.includes(a.id)).map((v) => v.name);
  }
}

function find(name: string): IntegrationRow {
  return integrations.find((v) => v.name.toLowerCase() === name.toLowerCase()) ?? fail("not_found", `no integration named '${name}': see the Integrations screen`);
}

function idsRules(accounts: string[]): RulesForm {
  return { units: [], tags: [], accounts: [...accounts].sort(), exclude: [], allow_shared: false };
}

function describeRules(r: RulesForm): string[] {
  const out = [
    ...r.units.map((u) => `OU ${unitPathOf(u, org.units) || "(root)"} and below`),
    ...r.tags.map((t) => `tag ${t}`),
  ];
  if (r.accounts.length > 0) out.push(`${r.accounts.length} account${r.accounts.length === 1 ? "" : "s"} by id`);
  if (r.exclude.length > 0) out.push(`except ${r.exclude.join(", ")}`);
  if (r.allow_shared) out.push("shared accounts allowed");
  return out;
}

/** What rules resolve to over the mock organization: OU subtrees, tags, ids, minus exclusions and what others hold. */
function resolve(r: RulesForm, self: string | null): { accounts: string[]; left_out: LeftOutRow[] } {
  for (const u of r.units) {
    const path = unitPathOf(u, org.units);
    if (!org.units.some((x) => x.id === u || x.path.toLowerCase() === path.toLowerCase())) {
      const like = org.units.filter((x) => x.path && x.path.toLowerCase().includes(path.split("/").pop()!.toLowerCase().slice(0, 4)));
      fail("invalid_input", `no OU '${u}'${like.length ? `: did you mean ${like.slice(0, 3).map((x) => `'${x.path}'`).join(", ")}?` : ""}`);
    }
  }
  for (const t of r.tags) if (!/^[^=]+=.*$/.test(t)) fail("invalid_input", `tag '${t}' is not KEY=VALUE`);
  for (const id of r.accounts) if (!org.accounts.some((a) => a.id === id)) fail("invalid_input", `account ${id} is not in the organization`);
  const named = namedByRules(r, org.units, org.accounts);
  const byId = new Map(org.accounts.map((a) => [a.id, a] as const));
  const accounts: string[] = [];
  const left_out: LeftOutRow[] = [];
  const holder = (id: string) =>
    integrations.find((v) => (self === null || v.name.toLowerCase() !== self.toLowerCase()) && v.accounts.includes(id));
  for (const id of new Set([...named, ...r.accounts])) {
    if (r.exclude.includes(id)) continue;
    const a = byId.get(id)!;
    const byHand = r.accounts.includes(id);
    if (!byHand && a.status !== "ACTIVE") {
      left_out.push({ account: id, name: a.name, reason: `${a.status} (not active)` });
      continue;
    }
    const other = r.allow_shared ? undefined : holder(id);
    if (other) {
      if (byHand) fail("conflict", `account ${id} is already in '${other.name}': allow shared accounts to add it here too`);
      left_out.push({ account: id, name: a.name, reason: `already in ${other.name}` });
      continue;
    }
    accounts.push(id);
  }
  if (accounts.length === 0) fail("invalid_input", "the rules name no active account that is free: change them, or allow shared accounts");
  return { accounts: accounts.sort(), left_out };
}

function ruledRow(name: string, rules: RulesForm, prev?: IntegrationRow): IntegrationRow {
  const { accounts } = resolve(rules, prev?.name ?? null);
  return { ...row(name, accounts, prev), rules: { ...rules }, rules_text: describeRules(rules) };
}

let importState: ImportProgress = { running: false, total: 0, outcomes: [] };

/** The import's rows: a CSV (name,ous,tags,accounts,exclude,allow_shared) or one per child OU. */
function importRows(src: ImportSource): { line: number; name: string; rules: RulesForm }[] {
  if (src.csv != null) {
    const lines = src.csv.split(/\r?\n/).filter((l) => l.trim() !== "");
    if (lines.length === 0) fail("invalid_input", "the CSV is empty");
    const head = lines[0].split(",").map((h) => h.trim().toLowerCase());
    if (!head.includes("name")) fail("invalid_input", "line 1: the header needs a `name` column");
    const col = (cells: string[], c: string) => (head.indexOf(c) >= 0 ? (cells[head.indexOf(c)] ?? "").trim() : "");
    const list = (v: string) => v.split(/[;,\s]+/).filter(Boolean);
    return lines.slice(1).map((l, i) => {
      const cells = l.split(",");
      return {
        line: i + 2,
        name: col(cells, "name"),
        rules: {
          units: col(cells, "ous").split(";").map((x) => x.trim()).filter(Boolean),
          tags: col(cells, "tags").split(";").map((x) => x.trim()).filter(Boolean),
          accounts: list(col(cells, "accounts")),
          exclude: list(col(cells, "exclude")),
          allow_shared: col(cells, "allow_shared").toLowerCase() === "true",
        },
      };
    });
  }
  const parentRule = (src.from_ou ?? "").trim();
  if (!parentRule) fail("invalid_input", "choose a CSV file or the OU whose children are your customers");
  const path = unitPathOf(parentRule, org.units);
  const parent = org.units.find((u) => u.id === parentRule || u.path.toLowerCase() === path.toLowerCase());
  if (!parent) fail("invalid_input", `no OU '${parentRule}'`);
  return org.units
    .filter((u) => u.parent_id === parent.id)
    .map((u, i) => ({ line: i + 1, name: u.name.replace(/[^ a-zA-Z0-9_+=.@-]/g, "-"), rules: { ...idsRules([]), units: [u.path] } }));
}

function importPlan(src: ImportSource): (ImportPlanRow & { rules: RulesForm })[] {
  const rows = importRows(src);
  const bad: string[] = [];
  const out: (ImportPlanRow & { rules: RulesForm })[] = [];
  for (const r of rows) {
    try {
      if (!r.name) fail("invalid_input", "no name");
      const existing = integrations.find((v) => v.name.toLowerCase() === r.name.toLowerCase());
      const { accounts, left_out } = resolve(r.rules, existing?.name ?? null);
      if (existing && JSON.stringify(existing.rules) !== JSON.stringify(r.rules)) fail("conflict", `'${r.name}' exists with other rules`);
      out.push({ line: r.line, name: r.name, rules_text: describeRules(r.rules), accounts: accounts.length, left_out, action: existing ? "unchanged" : "create", rules: r.rules });
    } catch (e) {
      bad.push(`line ${r.line} (${r.name || "no name"}): ${(e as { message: string }).message}`);
    }
  }
  if (bad.length > 0) fail("invalid_input", `nothing was imported; fix these rows: ${bad.join("; ")}`);
  return out;
}

function row(name: string, accounts: string[], prev?: IntegrationRow): IntegrationRow {
  return {
    id: prev?.id ?? crypto.randomUUID(),
    name,
    accounts: [...accounts].sort(),
    status: AWS ? "healthy" : "local",
    status_detail: null,
    revision: (prev?.revision ?? 0) + 1,
    view_name: `vi_${name.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`,
    billing_view_arn: AWS ? `arn:aws:billing::235004010531:billingview/custom-${name}` : null,
    updated_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    rules: idsRules(accounts),
    rules_text: describeRules(idsRules(accounts)),
    // An account leaving the integration is unshared first (as `vi update` does).
    shared_with: (prev?.shared_with ?? []).filter((id) => accounts.includes(id)),
    ...shownAs(name, prev?.profile ?? DEFAULT_PROFILE),
  };
}

// ---- presentation profiles (the backend's words, for the mock) ----

const BASES: Choice[] = [
  { key: "unblended", words: "unblended cost (as billed)" },
  { key: "net_unblended", words: "net unblended cost (after discounts)" },
  { key: "amortized", words: "amortized cost (Savings Plans and Reserved Instances spread over the usage they cover)" },
  { key: "public_on_demand", words: "public on-demand cost (AWS list prices)" },
];

const LINE_ITEM_TYPES: Choice[] = (
  [
    ["Usage", "usage"],
    ["DiscountedUsage", "usage covered by Reserved Instances"],
    ["SavingsPlanCoveredUsage", "usage covered by Savings Plans"],
    ["SavingsPlanNegation", "Savings Plans negations"],
    ["SavingsPlanRecurringFee", "Savings Plans recurring fees"],
    ["SavingsPlanUpfrontFee", "Savings Plans upfront fees"],
    ["RIFee", "Reserved Instance fees"],
    ["Fee", "fees"],
    ["Tax", "tax"],
    ["Credit", "credits"],
    ["Refund", "refunds"],
    ["SppDiscount", "Solution Provider Program discounts"],
    ["EdpDiscount", "Enterprise Discount Program discounts"],
    ["BundledDiscount", "bundled discounts"],
    ["PrivateRateDiscount", "private rate discounts"],
    ["DistributorDiscount", "distributor discounts"],
    ["SolutionProviderDiscount", "solution provider discounts"],
  ] as const
).map(([key, words]) => ({ key, words }));

const DEFAULT_PROFILE: ProfileForm = { display_name: null, basis: "unblended", exclude: [] };

/** "a", "a and b", "a, b and c". */
function joinWords(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** `Net unblended cost (after discounts); credits and tax left out.` */
function basisWords(p: ProfileForm): string {
  const basis = BASES.find((b) => b.key === p.basis)?.words ?? p.basis;
  const head = basis[0].toUpperCase() + basis.slice(1);
  const out = [...p.exclude].sort().map((k) => LINE_ITEM_TYPES.find((t) => t.key === k)?.words ?? k);
  return out.length === 0 ? `${head}; nothing left out.` : `${head}; ${joinWords(out)} left out.`;
}

function shownAs(name: string, profile: ProfileForm): Pick<IntegrationRow, "profile" | "display_name" | "basis_words"> {
  return { profile: { ...profile, exclude: [...profile.exclude] }, display_name: profile.display_name ?? name, basis_words: basisWords(profile) };
}

/** `set_profile` with the backend's checks: a known basis, known line item types, a sane display name. */
function setProfile(name: string, form: ProfileForm): IntegrationRow {
  const prev = find(name);
  const display = form.display_name?.trim() || null;
  if (display !== null && (display.length > 128 || /[\u0000-\u001f\u007f]/.test(display))) {
    fail("invalid_input", "the display name must be 1 to 128 characters without line breaks or control characters");
  }
  if (!BASES.some((b) => b.key === form.basis)) {
    fail("invalid_input", `'${form.basis}' is not a cost basis; use one of: ${BASES.map((b) => b.key).join(", ")}`);
  }
  const exclude = form.exclude.map((t) => {
    const known = LINE_ITEM_TYPES.find((x) => x.key.toLowerCase() === t.trim().toLowerCase());
    return known ? known.key : fail("invalid_input", `'${t}' is not a line item type; use one of: ${LINE_ITEM_TYPES.map((x) => x.key).join(", ")}`);
  });
  const profile = { display_name: display, basis: form.basis, exclude: [...new Set(exclude)].sort() };
  const r = { ...prev, ...shownAs(prev.name, profile), updated_at: new Date().toISOString().replace(/\.\d+Z$/, "Z") };
  integrations = integrations.map((v) => (v === prev ? r : v));
  return r;
}

// ---- review packs ----

const SERVICES: [string, string][] = [
  ["AmazonEC2", "Amazon EC2"],
  ["AmazonRDS", "Amazon RDS"],
  ["AmazonS3", "Amazon S3"],
  ["AWSLambda", "AWS Lambda"],
  ["AmazonCloudFront", "Amazon CloudFront"],
  ["AmazonDynamoDB", "Amazon DynamoDB"],
];

const ym = (d: Date) => d.toISOString().slice(0, 7);
const addMonths = (month: string, n: number) => ym(new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1 + n, 1)));

/** The month asked (default: the last closed one), checked as the backend checks it. */
function reviewMonth(month: unknown): string {
  const now = ym(new Date());
  const text = typeof month === "string" ? month.trim() : "";
  if (text === "") return addMonths(now, -1);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(text)) fail("invalid_input", `'${text}' is not a month: write it as YYYY-MM, e.g. 2026-11`);
  if (text > now) fail("invalid_input", `${text} has not begun: review this month (${now}) or an earlier one`);
  return text;
}

function estimate(name: string, month: unknown): ReviewEstimateView {
  find(name);
  const m = reviewMonth(month);
  const requests = AWS ? 4 : 0;
  return {
    month: m,
    month_label: monthText(m),
    ce_requests: requests,
    athena_queries: 0,
    athena_bytes: "0",
    words: AWS ? `At least ${requests} Cost Explorer requests (USD ${(requests / 100).toFixed(2)}).` : "Nothing: a local workspace reads its own CUR files.",
  };
}

/** A bar chart SVG of `values` (the pack's are drawn by the backend at 1200×620). */
function barsSvg(title: string, caption: string, values: number[], labels: string[]): string {
  const w = 1200;
  const h = 620;
  const max = Math.max(1, ...values);
  const bw = (w - 160) / Math.max(1, values.length);
  const bars = values
    .map((v, i) => {
      const bh = (v / max) * (h - 200);
      const x = 90 + i * bw;
      return `<rect x="${x}" y="${h - 90 - bh}" width="${bw - 8}" height="${bh}" fill="#4e79a7"/><text x="${x + bw / 2 - 4}" y="${h - 66}" font-size="15" text-anchor="middle" fill="#333">${labels[i] ?? ""}</text>`;
    })
    .join("");
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg"><rect width="${w}" height="${h}" fill="#fff"/><text x="24" y="44" font-family="sans-serif" font-size="28" fill="#222">${title}</text>${bars}<text x="24" y="${h - 24}" font-family="sans-serif" font-size="16" fill="#555">${caption}</text></svg>`;
}

function pack(name: string, month: unknown): ReviewPack {
  const vi = find(name);
  const m = reviewMonth(month);
  const open = m === ym(new Date());
  const label = monthText(m);
  const prevLabel = monthText(addMonths(m, -1));
  const rand = rng(vi.accounts.length * 13 + m.length);
  const basis = vi.basis_words;
  const cents = (v: number) => centsText(BigInt(Math.round(v * 100)));
  const usd = (v: number) => money(cents(v), "USD");
  const months = Array.from({ length: 13 }, (_, i) => addMonths(m, i - 12));
  const totals = months.map(() => 8000 + rand() * 6000);
  const total = totals[12];
  const prev = totals[11];
  const pct = (a: number, b: number) => `${b >= a ? "+" : "-"}${Math.abs(((b - a) / a) * 100).toFixed(1)}%`;
  const pages: PackPage[] = [
    {
      id: "cover",
      title: `AWS cost review: ${label}`,
      lines: [
        `Basis: ${basis}`,
        `Data as of ${dateText(new Date().toISOString())}.`,
        open ? `${label} is not over: its figures are estimates and will change until AWS closes the bill.` : `${label} is closed; AWS may still restate it for a few days after the month ends.`,
        `${vi.accounts.length} AWS accounts in this review.`,
      ],
      figures: [],
      chart: null,
      table: null,
    },
    {
      id: "total",
      title: `Total for ${label}`,
      lines: [`${vi.display_name} spent ${usd(total)} on AWS in ${label}${open ? " so far" : ""}.`],
      figures: [
        { label: `Total, ${label}`, value: usd(total), note: open ? "month to date" : null },
        { label: `vs ${prevLabel}`, value: moneyChange(cents(total - prev), "USD"), note: `${pct(prev, total)} (${usd(prev)} in ${prevLabel})` },
        { label: `vs ${monthText(months[0])}`, value: moneyChange(cents(total - totals[0]), "USD"), note: `${pct(totals[0], total)} (${usd(totals[0])} in ${monthText(months[0])})` },
      ],
      chart: null,
      table: null,
    },
    {
      id: "trend",
      title: "13-month trend by service",
      lines: [`${usd(totals.reduce((a, b) => a + b, 0))} over the 13 months to ${label}.`],
      figures: [],
      chart: { id: "trend", svg: barsSvg(`${vi.display_name}: monthly cost by service`, basis, totals, months.map((x) => monthText(x).slice(0, 3))) },
      table: { id: "trend", columns: ["Month", "Total"], rows: months.slice(-12).map((x, i) => [monthText(x), usd(totals[i + 1])]) },
    },
    {
      id: "services",
      title: `Top services in ${label}`,
      lines: [`${SERVICES.length} services had costs in ${label} or ${prevLabel}.`],
      figures: [],
      chart: null,
      table: {
        id: "services",
        columns: ["Service", label, prevLabel, "Change", "Change %"],
        rows: SERVICES.map(([, n], i) => {
          const b = total / (i + 2);
          const a = b * (0.7 + rand() * 0.6);
          return [n, usd(b), usd(a), moneyChange(cents(b - a), "USD"), pct(a, b)];
        }),
      },
    },
    {
      id: "movers",
      title: `What moved in ${label}`,
      lines: [`The largest increases and decreases from ${prevLabel} to ${label}, by service and usage type and by account.`],
      figures: [],
      chart: null,
      table: {
        id: "movers",
        columns: ["What moved", "By", prevLabel, label, "Change"],
        rows: [
          ["Amazon EC2 · USE1-BoxUsage:m5.large", "usage type", usd(1200), usd(1650.5), moneyChange("450.50", "USD")],
          ["Amazon S3 · USE1-TimedStorage-ByteHrs", "usage type", usd(300), usd(180), moneyChange("-120", "USD")],
        ],
      },
    },
    {
      id: "accounts",
      title: `Costs by account in ${label}`,
      lines: [`The ${vi.accounts.length} accounts of ${vi.display_name}.`],
      figures: [],
      chart: null,
      table: {
        id: "accounts",
        columns: ["Account", "Account id", label, prevLabel, "Change"],
        rows: vi.accounts.slice(0, 12).map((id) => {
          const b = total / vi.accounts.length;
          return [org.accounts.find((a) => a.id === id)?.name ?? "", id, usd(b), usd(b * 0.9), moneyChange(cents(b * 0.1), "USD")];
        }),
      },
    },
    {
      id: "daily",
      title: `Daily costs in ${label}`,
      lines: [`The most expensive day was ${dateText(`${m}-14`)} at ${usd(total / 20)}.`],
      figures: [],
      chart: { id: "daily", svg: barsSvg(`${vi.display_name}: daily cost by service`, basis, Array.from({ length: 30 }, () => total / 30 + rand() * 80), Array.from({ length: 30 }, (_, i) => (i % 5 === 0 ? String(i + 1) : ""))) },
      table: null,
    },
  ];
  if (open) {
    pages.push({
      id: "forecast",
      title: `Forecast for ${label}`,
      lines: ["Month to date plus the average of the last 7 full days for the days left."],
      figures: [
        { label: "Month to date", value: usd(total), note: `to ${dateText(new Date().toISOString())}` },
        { label: "Forecast to month end", value: usd(total * 1.8), note: `${pct(prev, total * 1.8)} vs ${prevLabel}` },
      ],
      chart: null,
      table: null,
    });
  }
  pages.push({
    id: "appendix",
    title: "How these figures were made",
    lines: [
      `Basis: ${basis}`,
      `Source: ${AWS ? "AWS Cost Explorer, through this customer's own billing view" : "the Cost and Usage Report files of this workspace"}, covering this customer's accounts only.`,
      `Cost to produce: ${AWS ? "4 Cost Explorer requests (USD 0.04); 0 Athena queries scanning 0 bytes." : "nothing (read from local files)."}`,
      "Services are named as AWS names them in its console; amounts are in USD, rounded to the cent.",
      `Made with CostCarve on ${dateText(new Date().toISOString())}.`,
    ],
    figures: [],
    chart: null,
    table: null,
  });
  return {
    integration: vi.name,
    display_name: vi.display_name,
    month: m,
    month_label: label,
    basis,
    currency: "USD",
    data_as_of: dateText(new Date().toISOString()),
    estimated: open,
    pages,
  };
}

function writePack(name: string, month: unknown): ReviewFiles {
  const p = pack(name, month);
  const stem = `${p.integration.replace(/[^A-Za-z0-9._-]/g, "_")}-${p.month}`;
  const dir = "/home/user/Documents/Reviews";
  return {
    dir,
    pdf: `${dir}/${stem}.pdf`,
    pngs: p.pages.filter((x) => x.chart).map((x) => `${dir}/${stem}-${x.chart!.id}.png`),
    csvs: p.pages.filter((x) => x.table).map((x) => `${dir}/${stem}-${x.table!.id}.csv`),
    spent: AWS ? "4 Cost Explorer requests (USD 0.04)." : "Nothing: a local workspace reads its own CUR files.",
  };
}

/** Most accounts a view is shared with (the backend's MAX_SHARED). */
const MAX_SHARED = 19;

/**
 * `vi share` / `vi unshare` with the backend's rules: AWS only; only the
 * integration's own accounts receive it (the refusal names the others and
 * changes nothing); unsharing names only accounts it is shared with; at most
 * 19 accounts; an integration that needs repair is repaired first.
 */
function share(name: string, accounts: string[], add: boolean): IntegrationRow {
  if (workspace.kind !== "aws") {
    fail("invalid_input", "sharing gives a customer's own AWS account its billing view: open a payer through a connection");
  }
  const ids = [...new Set(accounts.map((x) => String(x).trim()).filter(Boolean))].sort();
  for (const id of ids) if (!/^\d{12}$/.test(id)) fail("invalid_input", `'${id}' is not an AWS account id (12 digits)`);
  const prev = find(name);
  if (prev.status === "needs_repair") fail("not_healthy", `'${prev.name}' needs repair (${prev.status_detail ?? "its views differ"}); repair it first`);
  let after: string[];
  if (add) {
    const outside = ids.filter((id) => !prev.accounts.includes(id));
    if (outside.length > 0) {
      fail("invalid_input", `not in '${prev.name}': ${outside.join(", ")}; a customer's view is only shared with that customer's own accounts`);
    }
    after = [...new Set([...prev.shared_with, ...ids])].sort();
  } else {
    const not = ids.filter((id) => !prev.shared_with.includes(id));
    if (not.length > 0) fail("invalid_input", `'${prev.name}' is not shared with ${not.join(", ")}`);
    after = prev.shared_with.filter((id) => !ids.includes(id));
  }
  if (after.length > MAX_SHARED) {
    fail("invalid_input", `a view is shared with at most ${MAX_SHARED} accounts, not ${after.length}; share it with the customer's management or billing account`);
  }
  const r = { ...prev, shared_with: after, updated_at: new Date().toISOString().replace(/\.\d+Z$/, "Z") };
  integrations = integrations.map((v) => (v === prev ? r : v));
  return r;
}

function checkName(name: string) {
  if (!/^[ a-zA-Z0-9_+=.\-@]{1,128}$/.test(name)) {
    fail("invalid_input", `name '${name}' is not valid: use 1-128 letters, digits, spaces or _+=.-@`);
  }
}

function checkShared(name: string | null, accounts: string[], allow: boolean) {
  if (allow) return;
  const before = name ? find(name).accounts : [];
  for (const id of accounts.filter((x) => !before.includes(x))) {
    const other = integrations.find((v) => v.name !== name && v.accounts.includes(id));
    if (other) fail("conflict", `account ${id} is already in '${other.name}': tick "allow shared" to add it here too`);
  }
}

function chart(req: ChartRequest): ChartView {
  const vi = find(req.integration);
  const rand = rng(vi.accounts.length * 7 + req.kind.length);
  const w = req.width ?? 1100;
  const h = req.height ?? 560;
  if (w < 200 || h < 150 || w > 8192 || h > 8192) {
    fail("invalid_input", `a chart of ${w}x${h} pixels cannot be drawn: width must be 200-8192 and height 150-8192`);
  }
  const bars = req.kind === "daily" ? 30 : 13;
  const colors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f"];
  let body = "";
  let total = 0;
  const points: ChartView["points"] = [];
  for (let i = 0; i < bars; i++) {
    let y = h - 40;
    for (let s = 0; s < (req.kind === "daily" ? 1 : 5); s++) {
      const v = 10 + rand() * 60;
      total += v * 37.3;
      const [key, label] = SERVICES[s];
      points.push({ period: addMonths("2025-11", i) + "-01", keys: [key], labels: [label], amount: (v * 37.3).toFixed(2) });
      body += `<rect x="${70 + i * ((w - 100) / bars)}" y="${y - v}" width="${(w - 100) / bars - 6}" height="${v}" fill="${colors[s]}"/>`;
      y -= v;
    }
  }
  total = points.reduce((sum, p) => sum + Number(p.amount), 0);
  const fs = req.large ? 28 : 18;
  const svg = `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg"><rect width="${w}" height="${h}" fill="#fff"/><text x="14" y="${fs + 8}" font-family="sans-serif" font-size="${fs}" fill="#222">${vi.display_name}: ${req.kind} (mock)</text>${body}</svg>`;
  const requests = AWS ? 1 + Math.floor(rand() * 3) : null;
  if (requests) ceTotal += requests;
  return {
    svg: svg.replace("</svg>", `<text x="14" y="${h - 10}" font-family="sans-serif" font-size="${fs * 0.7}" fill="#555">${vi.basis_words}</text></svg>`),
    points,
    total: total.toFixed(2),
    currency: "USD",
    from: req.from ?? "2025-11-01",
    to: req.to ?? "2026-11-27",
    data_as_of: "2026-11-26",
    ce_requests: requests,
    ce_requests_total: requests ? ceTotal : null,
    basis_words: vi.basis_words,
    total_text: money(total.toFixed(2), "USD"),
  };
}

/** One command, as the app's IPC would call it (exported for the mock's own tests). */
export async function handle(cmd: string, a: Args): Promise<unknown> {
  switch (cmd) {
    case "workspace":
      await sleep(300);
      return workspace;
    case "open_demo":
      await sleep(300);
      workspace = { kind: "demo", label: "/home/user/.local/share/costcarve/demo", payer: null, data_as_of: null, recovery: [] };
      return workspace;
    case "open_folder":
      await sleep(300);
      if (!String(a.path).startsWith("/")) fail("not_a_workspace", `'${String(a.path)}' is not a workspace folder: give an absolute path`);
      workspace = { kind: "local", label: String(a.path), payer: null, data_as_of: null, recovery: [] };
      return workspace;
    case "open_connection":
      await sleep(1200);
      workspace = { kind: "aws", label: String(a.name), payer: "235004010531", data_as_of: new Date().toISOString(), recovery: [] };
      return workspace;
    case "organization":
      await sleep(ACCOUNTS > 1000 ? 600 : 150);
      members();
      return { ...org, accounts: org.accounts.map((x) => ({ ...x })) };
    case "integrations":
      await sleep(100);
      return integrations;
    case "orphan_views":
      return [];
    case "verify_requests":
      return null;
    case "plan_integration": {
      await sleep(120);
      const name = String(a.name).trim();
      checkName(name);
      const accounts = [...new Set(a.accounts as string[])].sort();
      if (accounts.length === 0) fail("invalid_input", "an integration needs at least one account");
      const before = a.existing ? find(String(a.existing)).accounts : [];
      return {
        name,
        accounts,
        added: accounts.filter((x) => !before.includes(x)),
        removed: before.filter((x) => !accounts.includes(x)),
        view_sql: `CREATE OR REPLACE VIEW "costcarve"."vi_${name.toLowerCase().replace(/[^a-z0-9]+/g, "_")}" AS SELECT * FROM cur WHERE line_item_usage_account_id IN (${accounts.map((x) => `'${x}'`).join(", ")})`,
        billing_filter: AWS
          ? JSON.stringify({ dimensions: { key: "LINKED_ACCOUNT", values: accounts } })
          : "none: a local workspace has no billing view (the view above is the whole scope)",
      };
    }
    case "create_integration": {
      await sleep(AWS ? 2500 : 600);
      const name = String(a.name).trim();
      checkName(name);
      if (integrations.some((v) => v.name.toLowerCase() === name.toLowerCase())) fail("conflict", `'${name}' exists already: pick another name`);
      checkShared(null, a.accounts as string[], Boolean(a.allowShared));
      const r = row(name, a.accounts as string[]);
      integrations = [...integrations, r];
      return r;
    }
    case "update_integration": {
      await sleep(500);
      const prev = find(String(a.name));
      const name = a.rename ? String(a.rename) : prev.name;
      checkName(name);
      checkShared(prev.name, a.accounts as string[], Boolean(a.allowShared));
      const r = row(name, a.accounts as string[], prev);
      integrations = integrations.map((v) => (v === prev ? r : v));
      return r;
    }
    case "resolve_rules": {
      await sleep(150);
      const name = String(a.name).trim();
      checkName(name);
      const rules = a.rules as RulesForm;
      return { ...resolve(rules, a.existing ? find(String(a.existing)).name : null), rules_text: describeRules(rules) };
    }
    case "create_integration_rules": {
      await sleep(AWS ? 2500 : 600);
      const name = String(a.name).trim();
      checkName(name);
      if (integrations.some((v) => v.name.toLowerCase() === name.toLowerCase())) fail("conflict", `'${name}' exists already: pick another name`);
      const r = ruledRow(name, a.rules as RulesForm);
      integrations = [...integrations, r];
      return r;
    }
    case "update_integration_rules": {
      await sleep(500);
      const prev = find(String(a.name));
      const name = a.rename ? String(a.rename) : prev.name;
      checkName(name);
      const r = ruledRow(name, a.rules as RulesForm, prev);
      integrations = integrations.map((v) => (v === prev ? r : v));
      return r;
    }
    case "sync_plan": {
      await sleep(AWS ? 1500 : 300);
      // The mock organization does not change by itself: ?moved=1 moves one
      // Acme account to Borealis, so the banner has something to show.
      if (params.get("moved") === "1" && !movedOnce) {
        movedOnce = true;
        const acme = org.accounts.find((x) => x.unit_path.startsWith("Customers/Acme Retail/"));
        const to = org.units.find((u) => u.path === "Customers/Borealis Health/prod");
        if (acme && to) Object.assign(acme, { unit_id: to.id, unit_path: to.path });
      }
      const changes = integrations
        .filter((v) => v.rules.units.length + v.rules.tags.length > 0)
        .map((v) => {
          let now: string[] = [];
          let left: LeftOutRow[] = [];
          let problem: string | null = null;
          try {
            ({ accounts: now, left_out: left } = resolve(v.rules, v.name));
          } catch (e) {
            problem = (e as { message: string }).message;
          }
          return {
            name: v.name,
            added: problem ? [] : now.filter((x) => !v.accounts.includes(x)),
            removed: problem ? [] : v.accounts.filter((x) => !now.includes(x)),
            left_out: left,
            problem,
          };
        })
        .filter((c) => c.added.length + c.removed.length > 0 || c.problem);
      return { out_of_date: changes.filter((c) => c.added.length + c.removed.length > 0).length, changes };
    }
    case "apply_sync": {
      await sleep(800);
      // Those that drop accounts first, so a moved account is free for its new one.
      const order = [...integrations].filter((v) => v.rules.units.length + v.rules.tags.length > 0);
      const out = [];
      for (const pass of [0, 1]) {
        for (const v of order) {
          try {
            const before = v.accounts;
            const r = ruledRow(v.name, v.rules, v);
            const drops = before.some((x) => !r.accounts.includes(x));
            if ((pass === 0) !== drops || JSON.stringify(before) === JSON.stringify(r.accounts)) continue;
            integrations = integrations.map((x) => (x.id === v.id ? r : x));
            out.push({ name: v.name, applied: true, error: null });
          } catch (e) {
            if (pass === 1) out.push({ name: v.name, applied: false, error: (e as { message: string }).message });
          }
        }
      }
      return out;
    }
    case "import_preview":
      await sleep(300);
      return importPlan(a.source as ImportSource).map(({ rules: _, ...r }) => r);
    case "run_import": {
      const plan = importPlan(a.source as ImportSource);
      importState = { running: true, total: plan.length, outcomes: [] };
      const outcomes: ImportOutcomeRow[] = [];
      for (const p of plan) {
        await sleep(AWS ? 900 : 300);
        let o: ImportOutcomeRow;
        if (p.action === "unchanged") o = { line: p.line, name: p.name, outcome: "unchanged", accounts: p.accounts, error: null };
        else {
          try {
            const r = ruledRow(p.name, p.rules);
            integrations = [...integrations, r];
            o = { line: p.line, name: p.name, outcome: "created", accounts: r.accounts.length, error: null };
          } catch (e) {
            o = { line: p.line, name: p.name, outcome: "failed", accounts: 0, error: (e as { message: string }).message };
          }
        }
        outcomes.push(o);
        importState = { ...importState, outcomes: [...outcomes] };
      }
      importState = { ...importState, running: false };
      return outcomes;
    }
    case "import_progress":
      return importState;
    case "share_integration":
      await sleep(AWS ? 1200 : 200);
      return share(String(a.name), (a.accounts as string[]) ?? [], Boolean(a.add));
    case "delete_integration":
      await sleep(300);
      find(String(a.name));
      integrations = integrations.filter((v) => v.name.toLowerCase() !== String(a.name).toLowerCase());
      return null;
    case "repair_integration": {
      await sleep(800);
      const prev = find(String(a.name));
      const r = { ...prev, status: "healthy", status_detail: null };
      integrations = integrations.map((v) => (v === prev ? r : v));
      return r;
    }
    case "chart":
      await sleep(250);
      return chart(a.request as ChartRequest);
    case "movers": {
      await sleep(150);
      find(String(a.integration));
      return {
        previous_month: "2026-09",
        current_month: "2026-10",
        currency: "USD",
        movers: SERVICES.map(([s, label], i) => {
          const p = 1000 / (i + 1);
          const c = p * (i % 2 ? 0.8 : 1.3);
          return { service: s, label, previous: p.toFixed(2), current: c.toFixed(2), change: (c - p).toFixed(2) };
        }),
      };
    }
    case "run_query": {
      const sql = String(a.sql);
      find(String(a.integration));
      if (/\b(drop|insert|delete|information_schema)\b/i.test(sql) || /from\s+(?!cur\b)\w/i.test(sql)) {
        fail("query_rejected", "the query may read only `cur` (this integration's rows): remove the other table");
      }
      const stopped = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), /sleep/i.test(sql) ? 8000 : 700);
        running = () => {
          clearTimeout(t);
          resolve(true);
        };
      });
      running = null;
      if (stopped) fail("cancelled", "the query was cancelled");
      return {
        columns: ["service", "cost", "note"],
        rows: [
          ["AmazonEC2", "1234.56", null],
          ["AmazonRDS", "456.70", "db"],
          ["AmazonS3", "12.00", null],
        ],
        truncated: false,
        executed_sql: `SELECT * FROM (${sql}) -- confined to ${String(a.integration)}`,
      };
    }
    case "cancel_query":
      if (running) {
        running();
        return true;
      }
      return false;
    case "export_chart":
      await sleep(300);
      return `/home/user/Downloads/${(a.request as ChartRequest).integration}-${(a.request as ChartRequest).kind}.${String(a.format)}`;
    case "export_query":
      await sleep(600);
      return `/home/user/Downloads/${String(a.integration)}-query.csv`;
    case "profile_options":
      return { bases: BASES.map((b) => ({ ...b })), line_item_types: LINE_ITEM_TYPES.map((t) => ({ ...t })) };
    case "set_profile":
      await sleep(200);
      return setProfile(String(a.name), a.profile as ProfileForm);
    case "review_estimate":
      await sleep(150);
      return estimate(String(a.name), a.month);
    case "review_pack":
      await sleep(AWS ? 1500 : 600);
      return pack(String(a.name), a.month);
    case "write_review_pack":
      await sleep(AWS ? 2000 : 900);
      // ?cancel=1: the folder dialog was cancelled.
      if (params.get("cancel") === "1") return null;
      return writePack(String(a.name), a.month);
    case "connections":
      return connections;
    case "add_connection": {
      const f = a.form as ConnectionForm;
      if (!f.name?.trim()) fail("invalid_input", "the connection needs a name");
      if (!f.cur_table.includes(".")) fail("invalid_input", `CUR table '${f.cur_table}' needs the database too: DB.TABLE`);
      if (!f.results.startsWith("s3://")) fail("invalid_input", `results '${f.results}' is not an S3 location: use s3://bucket/prefix/`);
      connections = [
        ...connections.filter((c) => c.name !== f.name),
        {
          name: f.name.trim(),
          credentials: f.access_key_id ? "access keys in the OS keyring" : f.profile ? `profile ${f.profile}` : "default credentials",
          region: f.region ?? null,
          role_arn: f.role_arn ?? null,
          cur_table: f.cur_table,
          workgroup: f.workgroup,
          results: f.results,
          views_database: f.views_database ?? "costcarve_views",
        },
      ];
      return null;
    }
    case "test_connection": {
      await sleep(900);
      const checks: CheckRow[] = [
        { name: "credentials", ok: true, detail: "arn:aws:sts::235004010531:assumed-role/costcarve", fix: null, optional: false },
        { name: "management account", ok: true, detail: "235004010531 is the organization's management account", fix: null, optional: false },
        { name: "CUR table", ok: false, detail: "table cur.cur2 not found in Glue", fix: "check the CUR table name (DB.TABLE) in the connection", optional: false },
      ];
      return checks;
    }
    case "remove_connection":
      if (!connections.some((c) => c.name === a.name)) fail("not_found", `no connection named '${String(a.name)}'`);
      connections = connections.filter((c) => c.name !== a.name);
      return null;
    default:
      fail("engine", `the mock backend has no command '${cmd}'`);
  }
}

export function installMockBackend(): void {
  // A first integration, so the screens have something to show.
  const acme = org.accounts.filter((x) => x.tags.some(([k, v]) => k === "customer" && v === "acme-retail")).map((x) => x.id);
  integrations = [row("Acme Retail", acme)];
  if (AWS) {
    const borealis = org.accounts.filter((x) => x.tags.some(([k, v]) => k === "customer" && v === "borealis-health")).map((x) => x.id);
    integrations.push({ ...row("Borealis Health", borealis), status: "drift", status_detail: "the billing view has 1 account the Athena view lacks" });
    // Acme's view shared with its first account (its "billing" account, say).
    integrations[0] = { ...integrations[0], shared_with: acme.slice(0, 1) };
  }
  mockIPC((cmd, payload) => handle(cmd, (payload ?? {}) as Args));
}
