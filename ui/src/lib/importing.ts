// Words of the import dialog, kept free of the DOM.

/** The Create button: `Create 8 integrations`; nothing to create says so. */
export function importRunLabel(toCreate: number): string {
  if (toCreate === 0) return "Nothing to create";
  return `Create ${toCreate.toLocaleString("en-US")} ${toCreate === 1 ? "integration" : "integrations"}`;
}

/** How many rows ended each way. */
export function importCounts(outcomes: readonly { outcome: string }[]): { created: number; unchanged: number; failed: number } {
  const out = { created: 0, unchanged: 0, failed: 0 };
  for (const o of outcomes) {
    if (o.outcome === "created") out.created++;
    else if (o.outcome === "unchanged") out.unchanged++;
    else out.failed++;
  }
  return out;
}

/** What is imported, in words. */
export function sourceLabel(source: { csv?: string | null; from_ou?: string | null }, fileName: string | null = null): string {
  if (source.csv != null) return fileName ? `From ${fileName}` : "From the pasted CSV";
  return `One integration per OU below ${source.from_ou ?? ""}`;
}
