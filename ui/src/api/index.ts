// The only module that talks to the backend. It calls the generated
// `commands` (ui/src/bindings.ts, never edited by hand), turns each
// `{status: "ok" | "error"}` result into its value, and throws an `ApiError`
// `{code, message}` otherwise. Components import from here, never from the
// bindings.

import {
  commands,
  type AccountRow,
  type ChartRequest_Deserialize,
  type ChartView_Serialize,
  type CheckRow_Serialize,
  type Choice,
  type ConnectionForm_Deserialize,
  type ConnectionRow_Serialize,
  type ErrorCode as BackendErrorCode,
  type IntegrationPlan,
  type ImportOutcomeRow_Serialize,
  type ImportPlanRow,
  type ImportProgress_Serialize,
  type ImportSource_Deserialize,
  type IntegrationRow_Serialize,
  type IpcError,
  type LeftOutRow,
  type Mover,
  type MoversView,
  type OrgView_Serialize,
  type PackChart,
  type PackPage_Serialize,
  type PackTable,
  type PointRow,
  type ProfileForm_Serialize,
  type ProfileOptions,
  type KeyFigure_Serialize,
  type QueryRows,
  type ReviewEstimateView,
  type ReviewFiles,
  type ReviewPack_Serialize,
  type RulesForm,
  type RulesPreview,
  type SyncOutcomeRow_Serialize,
  type SyncPlanView_Serialize,
  type SyncRow_Serialize,
  type UnitRow_Serialize,
  type Verification_Serialize,
  type WorkspaceInfo_Serialize,
} from "../bindings";

export type WorkspaceInfo = WorkspaceInfo_Serialize;
export type OrgView = OrgView_Serialize;
export type UnitRow = UnitRow_Serialize;
export type IntegrationRow = IntegrationRow_Serialize;
export type ChartRequest = ChartRequest_Deserialize;
export type ChartView = ChartView_Serialize;
export type CheckRow = CheckRow_Serialize;
export type ConnectionForm = ConnectionForm_Deserialize;
export type ConnectionRow = ConnectionRow_Serialize;
export type Verification = Verification_Serialize;
export type ImportSource = ImportSource_Deserialize;
export type ImportOutcomeRow = ImportOutcomeRow_Serialize;
export type ImportProgress = ImportProgress_Serialize;
export type SyncPlanView = SyncPlanView_Serialize;
export type SyncRow = SyncRow_Serialize;
export type SyncOutcomeRow = SyncOutcomeRow_Serialize;
export type ProfileForm = ProfileForm_Serialize;
export type ReviewPack = ReviewPack_Serialize;
export type PackPage = PackPage_Serialize;
export type KeyFigure = KeyFigure_Serialize;
export type {
  Choice,
  PackChart,
  PackTable,
  PointRow,
  ProfileOptions,
  ReviewEstimateView,
  ReviewFiles,
  AccountRow,
  ImportPlanRow,
  IntegrationPlan,
  LeftOutRow,
  Mover,
  MoversView,
  QueryRows,
  RulesForm,
  RulesPreview,
};

/** Code used when the call never reached a command (no IPC, bad reply). */
export const IPC_FAILURE = "ipc";

/** What went wrong: one of the backend's codes (generated from Rust), or `ipc`. */
export type ErrorCode = BackendErrorCode | typeof IPC_FAILURE;

/** A failed call: the backend's `{code, message}`, the message saying what to do next. */
export class ApiError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * What the UI does about an error, by its code: `repair` offers to repair the
 * integration (it is not healthy), `quiet` shows no error (the user cancelled),
 * `show` shows the message.
 */
export function errorRemedy(code: ErrorCode): "repair" | "quiet" | "show" {
  switch (code) {
    case "not_healthy":
      return "repair";
    case "cancelled":
      return "quiet";
    default:
      return "show";
  }
}

function isIpcError(e: unknown): e is IpcError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as IpcError).code === "string" &&
    typeof (e as IpcError).message === "string"
  );
}

/** Anything thrown or returned as an error, as an `ApiError`. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (isIpcError(e)) return new ApiError(e.code, e.message);
  if (e instanceof Error) return new ApiError(IPC_FAILURE, e.message);
  // Tauri rejects with a plain string when a command is unknown or not allowed.
  return new ApiError(IPC_FAILURE, typeof e === "string" ? e : "the app's backend did not answer");
}

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: IpcError };

/** The value of an ok result; an `ApiError` for an error result or a failed call. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch (e) {
    throw toApiError(e);
  }
  if (result.status === "ok") return result.data;
  throw toApiError(result.error);
}

/** Most rows a query shows (the CSV export takes them all). */
export const QUERY_MAX_ROWS = 1000;

export const api = {
  workspace: () => unwrap(commands.workspace()),
  openDemo: () => unwrap(commands.openDemo()),
  openFolder: (path: string) => unwrap(commands.openFolder(path)),
  openConnection: (name: string) => unwrap(commands.openConnection(name)),

  organization: (refresh: boolean) => unwrap(commands.organization(refresh)),

  integrations: () => unwrap(commands.integrations()),
  planIntegration: (name: string, accounts: string[], existing: string | null) =>
    unwrap(commands.planIntegration(name, accounts, existing)),
  createIntegration: (name: string, accounts: string[], allowShared: boolean) =>
    unwrap(commands.createIntegration(name, accounts, allowShared)),
  updateIntegration: (name: string, accounts: string[], rename: string | null, allowShared: boolean) =>
    unwrap(commands.updateIntegration(name, accounts, rename, allowShared)),
  /** What rules resolve to now (the members, what they leave out and why); makes nothing. */
  resolveRules: (name: string, rules: RulesForm, existing: string | null) =>
    unwrap(commands.resolveRules(name, rules, existing)),
  createIntegrationRules: (name: string, rules: RulesForm) => unwrap(commands.createIntegrationRules(name, rules)),
  /** Replaces the integration's rules (and renames it when `rename` is given). */
  updateIntegrationRules: (name: string, rules: RulesForm, rename: string | null) =>
    unwrap(commands.updateIntegrationRules(name, rules, rename)),
  /** Reads the organization again: which integrations its rules put out of date (changes nothing). */
  syncPlan: () => unwrap(commands.syncPlan()),
  applySync: () => unwrap(commands.applySync()),
  /** Every row checked; one bad row is an `invalid_input` naming every bad row. Makes nothing. */
  importPreview: (source: ImportSource) => unwrap(commands.importPreview(source)),
  runImport: (source: ImportSource) => unwrap(commands.runImport(source)),
  /** The rows of the running (or last) import finished so far. */
  importProgress: async (): Promise<ImportProgress> => {
    try {
      return await commands.importProgress();
    } catch (e) {
      throw toApiError(e);
    }
  },
  /**
   * Shares the integration's billing view with some of its own accounts
   * (`add`), or stops sharing it with them (AWS). Another account, or a local
   * workspace, is an `invalid_input` saying why.
   */
  shareIntegration: (name: string, accounts: string[], add: boolean) =>
    unwrap(commands.shareIntegration(name, accounts, add)),
  deleteIntegration: (name: string) => unwrap(commands.deleteIntegration(name)).then(() => undefined),
  repairIntegration: (name: string) => unwrap(commands.repairIntegration(name)),
  /** Athena views of CostCarve's that no billing view owns (AWS). */
  orphanViews: () => unwrap(commands.orphanViews()),
  dropOrphanView: (view: string) => unwrap(commands.dropOrphanView(view)).then(() => undefined),
  /** Cost Explorer requests verifying makes (AWS); `null` locally. */
  verifyRequests: () => unwrap(commands.verifyRequests()),
  verifyIntegration: (name: string, months: number) => unwrap(commands.verifyIntegration(name, months)),

  chart: (request: ChartRequest) => unwrap(commands.chart(request)),
  movers: (integration: string) => unwrap(commands.movers(integration)),
  /** Path written, or `null` when the user cancelled the save dialog. */
  exportChart: (request: ChartRequest, format: "png" | "svg" | "csv") =>
    unwrap(commands.exportChart(request, format)),

  /** `timeoutSeconds`: the query's time limit; `null` for the engine's default. */
  runQuery: (integration: string, sql: string, maxRows: number = QUERY_MAX_ROWS, timeoutSeconds: number | null = null) =>
    unwrap(commands.runQuery(integration, sql, maxRows, timeoutSeconds)),
  /** Whether a running query was told to stop. */
  cancelQuery: async (): Promise<boolean> => {
    try {
      return await commands.cancelQuery();
    } catch (e) {
      throw toApiError(e);
    }
  },
  /** Path written, or `null` when the user cancelled the save dialog. */
  exportQuery: (integration: string, sql: string) => unwrap(commands.exportQuery(integration, sql)),

  /** The cost bases and line item types a presentation profile offers. */
  profileOptions: async (): Promise<ProfileOptions> => {
    try {
      return await commands.profileOptions();
    } catch (e) {
      throw toApiError(e);
    }
  },
  /** Sets how an integration is shown to its customer; the row as it is now. */
  setProfile: (name: string, profile: ProfileForm) => unwrap(commands.setProfile(name, profile)),
  /** What making the pack of `month` (`null`: the last closed month) will spend, in words too. */
  reviewEstimate: (name: string, month: string | null) => unwrap(commands.reviewEstimate(name, month)),
  /** The pack's pages, to present as slides. */
  reviewPack: (name: string, month: string | null) => unwrap(commands.reviewPack(name, month)),
  /** Asks for a folder and writes the PDF, PNGs and CSVs there; `null` when the user cancelled. */
  writeReviewPack: (name: string, month: string | null) => unwrap(commands.writeReviewPack(name, month)),

  connections: () => unwrap(commands.connections()),
  /** The form's secret goes to the OS keyring; nothing of it comes back. */
  addConnection: (form: ConnectionForm) => unwrap(commands.addConnection(form)).then(() => undefined),
  testConnection: (name: string) => unwrap(commands.testConnection(name)),
  removeConnection: (name: string) => unwrap(commands.removeConnection(name)).then(() => undefined),
};

export type Api = typeof api;
