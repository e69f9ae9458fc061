import { beforeEach, describe, expect, it, vi } from "vitest";

// The generated bindings, replaced: each command is a mock returning what
// tauri-specta's `typedError` would.
vi.mock("../bindings", () => ({
  commands: {
    workspace: vi.fn(),
    integrations: vi.fn(),
    planIntegration: vi.fn(),
    deleteIntegration: vi.fn(),
    exportChart: vi.fn(),
    cancelQuery: vi.fn(),
    addConnection: vi.fn(),
    runQuery: vi.fn(),
    profileOptions: vi.fn(),
    setProfile: vi.fn(),
    reviewEstimate: vi.fn(),
    writeReviewPack: vi.fn(),
  },
}));

import { commands } from "../bindings";
import { api, ApiError, errorRemedy, IPC_FAILURE, QUERY_MAX_ROWS, toApiError, unwrap } from ".";

const mocked = commands as unknown as Record<string, ReturnType<typeof vi.fn>>;

beforeEach(() => {
  for (const fn of Object.values(mocked)) fn.mockReset();
});

describe("unwrap", () => {
  it("returns the data of an ok result", async () => {
    await expect(unwrap(Promise.resolve({ status: "ok", data: 42 }))).resolves.toBe(42);
  });

  it("throws an ApiError with the code and message of an error result", async () => {
    const call = unwrap(
      Promise.resolve({ status: "error", error: { code: "query_rejected", message: "only `cur` can be read" } }),
    );
    await expect(call).rejects.toBeInstanceOf(ApiError);
    await expect(call).rejects.toMatchObject({ code: "query_rejected", message: "only `cur` can be read" });
  });

  it("turns a rejected call (no IPC, a thrown Error) into an ApiError", async () => {
    const call = unwrap(Promise.reject(new TypeError("window.__TAURI_INTERNALS__ is undefined")));
    await expect(call).rejects.toMatchObject({ code: IPC_FAILURE, message: "window.__TAURI_INTERNALS__ is undefined" });
  });

  it("turns a plain-string rejection (unknown command) into an ApiError", async () => {
    await expect(unwrap(Promise.reject("command foo not found"))).rejects.toMatchObject({
      code: IPC_FAILURE,
      message: "command foo not found",
    });
  });
});

describe("toApiError", () => {
  it("keeps an ApiError as it is", () => {
    const e = new ApiError("conflict", "taken");
    expect(toApiError(e)).toBe(e);
  });

  it("reads {code, message} objects", () => {
    expect(toApiError({ code: "not_found", message: "no such integration" })).toMatchObject({
      code: "not_found",
      message: "no such integration",
    });
  });

  it("does not pass on unknown shapes as their text", () => {
    const e = toApiError({ weird: true });
    expect(e.code).toBe(IPC_FAILURE);
    expect(e.message).not.toContain("weird");
  });
});

describe("api", () => {
  it("passes arguments through and unwraps the value", async () => {
    const plan = { name: "Acme", accounts: ["111111111111"], added: [], removed: [], view_sql: "", billing_filter: "" };
    mocked.planIntegration.mockResolvedValue({ status: "ok", data: plan });
    await expect(api.planIntegration("Acme", ["111111111111"], "Acme")).resolves.toEqual(plan);
    expect(mocked.planIntegration).toHaveBeenCalledWith("Acme", ["111111111111"], "Acme");
  });

  it("throws the backend's error for a failing command", async () => {
    mocked.integrations.mockResolvedValue({ status: "error", error: { code: "aws", message: "throttled: try again" } });
    await expect(api.integrations()).rejects.toMatchObject({ code: "aws", message: "throttled: try again" });
  });

  it("resolves commands that return nothing to undefined", async () => {
    mocked.deleteIntegration.mockResolvedValue({ status: "ok", data: null });
    await expect(api.deleteIntegration("Acme")).resolves.toBeUndefined();
  });

  it("keeps null from an export as 'cancelled'", async () => {
    mocked.exportChart.mockResolvedValue({ status: "ok", data: null });
    const req = { integration: "Acme", kind: "stacked", from: null, to: null, group_by: null, large: false };
    await expect(api.exportChart(req, "png")).resolves.toBeNull();
    expect(mocked.exportChart).toHaveBeenCalledWith(req, "png");
  });

  it("asks for at most QUERY_MAX_ROWS rows by default", async () => {
    mocked.runQuery.mockResolvedValue({
      status: "ok",
      data: { columns: [], rows: [], truncated: false, executed_sql: "" },
    });
    await api.runQuery("Acme", "SELECT 1");
    expect(mocked.runQuery).toHaveBeenCalledWith("Acme", "SELECT 1", QUERY_MAX_ROWS, null);
    await api.runQuery("Acme", "SELECT 1", 10, 5);
    expect(mocked.runQuery).toHaveBeenLastCalledWith("Acme", "SELECT 1", 10, 5);
  });

  it("cancelQuery returns the plain boolean and wraps a failure", async () => {
    mocked.cancelQuery.mockResolvedValue(true);
    await expect(api.cancelQuery()).resolves.toBe(true);
    mocked.cancelQuery.mockRejectedValue("not allowed");
    await expect(api.cancelQuery()).rejects.toMatchObject({ code: IPC_FAILURE, message: "not allowed" });
  });

  it("sends the connection form as given (the secret only goes to the backend)", async () => {
    mocked.addConnection.mockResolvedValue({ status: "ok", data: null });
    const form = {
      name: "prod",
      access_key_id: "AKIAEXAMPLE",
      secret_access_key: "s3cr3t",
      cur_table: "cur.cur2",
      workgroup: "primary",
      results: "s3://bucket/results/",
    };
    await expect(api.addConnection(form)).resolves.toBeUndefined();
    expect(mocked.addConnection).toHaveBeenCalledWith(form);
  });
});

describe("api: presentation profiles and review packs", () => {
  it("sends the profile form as given and shows the backend's refusal", async () => {
    const form = { display_name: "Acme Corp GmbH", basis: "net_unblended", exclude: ["Credit", "Tax"] };
    mocked.setProfile.mockResolvedValue({ status: "error", error: { code: "invalid_input", message: "'Bogus' is not a line item type" } });
    await expect(api.setProfile("Acme", form)).rejects.toMatchObject({ code: "invalid_input", message: "'Bogus' is not a line item type" });
    expect(mocked.setProfile).toHaveBeenCalledWith("Acme", form);
  });

  it("asks the estimate of the last closed month with a null month", async () => {
    const e = { month: "2026-11", month_label: "November 2026", ce_requests: 0, athena_queries: 0, athena_bytes: "0", words: "Nothing." };
    mocked.reviewEstimate.mockResolvedValue({ status: "ok", data: e });
    await expect(api.reviewEstimate("Acme", null)).resolves.toEqual(e);
    expect(mocked.reviewEstimate).toHaveBeenCalledWith("Acme", null);
  });

  it("keeps null from writing a pack as 'cancelled'", async () => {
    mocked.writeReviewPack.mockResolvedValue({ status: "ok", data: null });
    await expect(api.writeReviewPack("Acme", "2026-10")).resolves.toBeNull();
    expect(mocked.writeReviewPack).toHaveBeenCalledWith("Acme", "2026-10");
  });

  it("profileOptions returns the plain value and wraps a failure", async () => {
    const options = { bases: [{ key: "unblended", words: "unblended cost (as billed)" }], line_item_types: [] };
    mocked.profileOptions.mockResolvedValue(options);
    await expect(api.profileOptions()).resolves.toEqual(options);
    mocked.profileOptions.mockRejectedValue("command profile_options not allowed");
    await expect(api.profileOptions()).rejects.toMatchObject({ code: IPC_FAILURE, message: "command profile_options not allowed" });
  });
});

describe("errorRemedy", () => {
  it("offers a repair for a not-healthy integration, stays quiet on a cancel, shows the rest", () => {
    expect(errorRemedy("not_healthy")).toBe("repair");
    expect(errorRemedy("cancelled")).toBe("quiet");
    for (const code of ["invalid_input", "not_found", "query_rejected", "aws", "keyring", IPC_FAILURE] as const) {
      expect(errorRemedy(code)).toBe("show");
    }
  });
});
