// What the backend said, kept for the screens: the open workspace, the
// integrations, the organization (for the picker) and cached charts. Large
// values are `$state.raw` (replaced whole, never proxied).

import {
  api,
  type ChartRequest,
  type ChartView,
  type IntegrationRow,
  type MoversView,
  type OrgView,
  type ProfileOptions,
  type ReviewPack,
  type SyncOutcomeRow,
  type SyncPlanView,
  type WorkspaceInfo,
} from "../api";
import { learnLabels } from "../lib/chart";
import { app } from "./app.svelte";

class DataState {
  workspace = $state.raw<WorkspaceInfo | null>(null);
  /** What a long workspace operation is doing, while it runs. */
  busy = $state<string | null>(null);

  integrations = $state.raw<IntegrationRow[]>([]);
  /** Athena views of CostCarve's whose billing view is gone (AWS). */
  orphanViews = $state.raw<string[]>([]);
  integrationsLoaded = $state(false);
  integrationsLoading = $state(false);

  org = $state.raw<OrgView | null>(null);
  orgLoading = $state(false);

  /** What the organization, read again on Refresh, changes in the integrations' rules. */
  sync = $state.raw<SyncPlanView | null>(null);
  syncChecking = $state(false);
  /** How the last Apply ended, per integration. */
  syncOutcomes = $state.raw<SyncOutcomeRow[] | null>(null);

  /**
   * Group keys as customers read them (`AmazonEC2` → `Amazon EC2`), learnt
   * from the charts' points: AWS's names, the same for every customer.
   */
  labels = $state.raw<ReadonlyMap<string, string>>(new Map());

  /** Bumped whenever another workspace opens: late answers for the old one are dropped. */
  generation = $state(0);

  #orgPromise: Promise<OrgView> | null = null;
  #charts = new Map<string, ChartView>();
  #movers = new Map<string, MoversView>();
  #packs = new Map<string, ReviewPack>();
  #profileOptions: Promise<ProfileOptions> | null = null;

  /** Opens what the backend has open (the demo on first start). */
  async start(): Promise<void> {
    await this.#open("Opening the workspace… (the demo's data is generated on first start)", () => api.workspace());
  }

  /** Whether it opened (else the banner says why); the same for the two below. */
  openDemo(): Promise<boolean> {
    return this.#open("Opening the demo workspace…", () => api.openDemo());
  }

  openFolder(path: string): Promise<boolean> {
    return this.#open(`Opening ${path}…`, () => api.openFolder(path));
  }

  openConnection(name: string): Promise<boolean> {
    return this.#open(`Opening connection ${name}: reading the organization and the integrations…`, () =>
      api.openConnection(name),
    );
  }

  async #open(busy: string, action: () => Promise<WorkspaceInfo>): Promise<boolean> {
    this.busy = busy;
    try {
      const info = await app.attempt(action);
      if (!info) return false;
      this.workspace = info;
      this.#forgetWorkspace();
      app.selectVi(null);
    } finally {
      this.busy = null;
    }
    await this.reloadIntegrations();
    return true;
  }

  #forgetWorkspace(): void {
    this.generation++;
    this.integrations = [];
    this.orphanViews = [];
    this.integrationsLoaded = false;
    this.org = null;
    this.#orgPromise = null;
    this.#charts.clear();
    this.#movers.clear();
    this.#packs.clear();
    this.sync = null;
    this.syncOutcomes = null;
  }

  /**
   * Refresh: the integrations, and the organization read again, saying
   * which integrations its changes put out of date (nothing is changed).
   */
  async refresh(): Promise<void> {
    const gen = this.generation;
    await this.reloadIntegrations();
    if (gen !== this.generation || !this.integrationsLoaded) return;
    this.syncChecking = true;
    this.syncOutcomes = null;
    try {
      const plan = await app.attempt(() => api.syncPlan());
      if (plan && gen === this.generation) {
        this.sync = plan;
        // The organization was read again: the picker and the names follow it.
        this.org = null;
        this.#orgPromise = null;
        await this.loadOrg().catch(() => {});
      }
    } finally {
      this.syncChecking = false;
    }
  }

  /** After Apply: what happened, and the list as it is now. */
  async synced(outcomes: SyncOutcomeRow[]): Promise<void> {
    this.sync = null;
    this.syncOutcomes = outcomes;
    await this.integrationsChanged();
  }

  async reloadIntegrations(): Promise<void> {
    const gen = this.generation;
    this.integrationsLoading = true;
    try {
      const rows = await app.attempt(() => api.integrations());
      const orphans = rows ? await app.attempt(() => api.orphanViews()) : undefined;
      if (rows && gen === this.generation) {
        this.integrations = rows;
        this.orphanViews = orphans ?? [];
        this.integrationsLoaded = true;
      }
    } finally {
      this.integrationsLoading = false;
    }
  }

  /** After a create, edit, delete or repair: memberships and charts changed. */
  async integrationsChanged(): Promise<void> {
    this.org = null;
    this.#orgPromise = null;
    this.#charts.clear();
    this.#movers.clear();
    this.#packs.clear();
    await this.reloadIntegrations();
  }

  /**
   * After a presentation profile was saved: its row as the backend returned
   * it, and every chart and pack drawn on the old basis forgotten.
   */
  profileSaved(row: IntegrationRow): void {
    this.#charts.clear();
    this.#packs.clear();
    this.integrations = this.integrations.map((r) => (r.id === row.id ? row : r));
  }

  /** The cost bases and line item types the profile form offers (asked once). Throws `ApiError`. */
  profileOptions(): Promise<ProfileOptions> {
    if (!this.#profileOptions) {
      const p = api.profileOptions();
      this.#profileOptions = p;
      p.catch(() => {
        if (this.#profileOptions === p) this.#profileOptions = null;
      });
    }
    return this.#profileOptions;
  }

  /**
   * A review pack to present, kept for the session like the charts (on AWS
   * making it again would spend Cost Explorer requests again); `fresh` asks again.
   */
  async reviewPack(name: string, month: string | null, fresh = false): Promise<ReviewPack> {
    const key = `${name.toLowerCase()}\u0000${month ?? ""}`;
    const hit = this.#packs.get(key);
    if (hit && !fresh) return hit;
    const gen = this.generation;
    const pack = await api.reviewPack(name, month);
    if (gen === this.generation) this.#packs.set(key, pack);
    return pack;
  }

  /** Whether this session already holds the pack (presenting it spends nothing). */
  hasReviewPack(name: string, month: string | null): boolean {
    return this.#packs.has(`${name.toLowerCase()}\u0000${month ?? ""}`);
  }

  integration(name: string | null): IntegrationRow | undefined {
    if (name === null) return undefined;
    const lower = name.toLowerCase();
    return this.integrations.find((r) => r.name.toLowerCase() === lower);
  }

  /** The organization (cached; `refresh` re-reads it from the payer). Throws `ApiError`. */
  loadOrg(refresh = false): Promise<OrgView> {
    if (!refresh && this.org) return Promise.resolve(this.org);
    if (!refresh && this.#orgPromise) return this.#orgPromise;
    const gen = this.generation;
    this.orgLoading = true;
    const p = api.organization(refresh).then(
      (org) => {
        if (gen === this.generation) {
          this.org = org;
          this.orgLoading = false;
        }
        return org;
      },
      (e: unknown) => {
        if (this.#orgPromise === p) this.#orgPromise = null;
        if (gen === this.generation) this.orgLoading = false;
        throw e;
      },
    );
    this.#orgPromise = p;
    return p;
  }

  /** A chart, from the cache unless `fresh`; `cached` says which. */
  async chart(request: ChartRequest, fresh: boolean): Promise<{ view: ChartView; cached: boolean }> {
    const key = JSON.stringify(request);
    const hit = this.#charts.get(key);
    if (hit && !fresh) return { view: hit, cached: true };
    const gen = this.generation;
    const view = await api.chart(request);
    if (gen === this.generation) this.#charts.set(key, view);
    this.labels = learnLabels(this.labels, view.points);
    return { view, cached: false };
  }

  async movers(integration: string, fresh: boolean): Promise<MoversView> {
    const key = integration.toLowerCase();
    const hit = this.#movers.get(key);
    if (hit && !fresh) return hit;
    const gen = this.generation;
    const view = await api.movers(integration);
    if (gen === this.generation) this.#movers.set(key, view);
    return view;
  }
}

export const data = new DataState();
