// The presentation profile form: what the dialog holds, and the
// `ProfileForm` it sends (`set_profile`).

import type { Choice, IntegrationRow, ProfileForm } from "../api";

/** The dialog's fields. */
export type ProfileFields = { displayName: string; basis: string; exclude: string[] };

/** The fields as an integration's profile has them. */
export function profileFields(row: Pick<IntegrationRow, "profile">): ProfileFields {
  return {
    displayName: row.profile.display_name ?? "",
    basis: row.profile.basis,
    exclude: [...row.profile.exclude],
  };
}

/**
 * The `ProfileForm` to send: the display name trimmed, none when empty or
 * the integration's own name (so it follows a rename); the line item types
 * left out once each, in the order the options list them (unknown ones
 * kept, after them, for the backend to refuse by name).
 */
export function profileForm(name: string, fields: ProfileFields, lineItemTypes: readonly Choice[]): ProfileForm {
  const display = fields.displayName.trim();
  const order = lineItemTypes.map((c) => c.key);
  const wanted = [...new Set(fields.exclude)];
  const known = order.filter((k) => wanted.includes(k));
  const unknown = wanted.filter((k) => !order.includes(k)).sort();
  return {
    display_name: display === "" || display === name ? null : display,
    basis: fields.basis,
    exclude: [...known, ...unknown],
  };
}

/** Whether saving `form` would change `current`. */
export function profileChanged(current: ProfileForm, form: ProfileForm): boolean {
  const set = (xs: readonly string[]) => [...xs].sort().join("\u0000");
  return (
    (current.display_name ?? null) !== (form.display_name ?? null) ||
    current.basis !== form.basis ||
    set(current.exclude) !== set(form.exclude)
  );
}

/** Adds or removes one line item type. */
export function toggleExclude(exclude: readonly string[], key: string, on: boolean): string[] {
  const rest = exclude.filter((k) => k !== key);
  return on ? [...rest, key] : rest;
}

/** Words as a label: the first letter upper case (`credits` → `Credits`). */
export function capitalized(words: string): string {
  return words.length === 0 ? words : words[0].toUpperCase() + words.slice(1);
}
