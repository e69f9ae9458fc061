// The review pack dialog: the month typed, and the files written.

import type { ReviewEstimateView, ReviewFiles } from "../api";
import { count } from "./format";

/** What the month field holds: `month` to send (`null`: the last closed month), or why it cannot be sent. */
export type MonthInput = { month: string | null; error: string | null };

/**
 * The month field: empty means the last closed month; otherwise `YYYY-MM`
 * (a single-digit month is padded: `2026-3` → `2026-03`).
 */
export function monthInput(text: string): MonthInput {
  const t = text.trim();
  if (t === "") return { month: null, error: null };
  const m = /^(\d{4})-(\d{1,2})$/.exec(t);
  const mm = m ? Number(m[2]) : 0;
  if (!m || mm < 1 || mm > 12) {
    return { month: null, error: `'${t}' is not a month: write it as YYYY-MM, e.g. 2026-11, or leave it empty for the last closed month` };
  }
  return { month: `${m[1]}-${String(mm).padStart(2, "0")}`, error: null };
}

/** `1 PDF, 2 PNGs, 5 CSVs`. */
export function filesSummary(files: Pick<ReviewFiles, "pngs" | "csvs">): string {
  return ["1 PDF", count(files.pngs.length, "PNG"), count(files.csvs.length, "CSV")].join(", ");
}

/** A path's last part (`/a/b/acme-2026-11.pdf` → `acme-2026-11.pdf`). */
export function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

/** Whether presenting must first say what making the pack will spend: on a
 * payer, a pack not made yet in this session, that costs requests or bytes. */
export function mustSayTheSpend(workspaceKind: string | undefined, cached: boolean, estimate: Pick<ReviewEstimateView, "ce_requests" | "athena_queries">): boolean {
  return workspaceKind === "aws" && !cached && (estimate.ce_requests > 0 || estimate.athena_queries > 0);
}
