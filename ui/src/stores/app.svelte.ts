// Which screen is shown, for which integration, in which type size, and the
// error banner. The screen and integration live in the location hash
// (`#/costs/Acme%20Retail`) so a reload keeps the place.

import { ApiError, errorRemedy, toApiError } from "../api";

export type Screen = "workspace" | "integrations" | "costs" | "query";
export const SCREENS: readonly Screen[] = ["workspace", "integrations", "costs", "query"];

const LARGE_KEY = "costcarve.large";

/** `#/costs/Acme%20Retail` → screen and integration; anything else → Integrations. */
export function parseHash(hash: string): { screen: Screen; vi: string | null } {
  const [, rawScreen = "", rawVi] = hash.replace(/^#/, "").split("/");
  const screen = (SCREENS as readonly string[]).includes(rawScreen) ? (rawScreen as Screen) : "integrations";
  let vi: string | null = null;
  if (rawVi) {
    try {
      vi = decodeURIComponent(rawVi);
    } catch {
      vi = null;
    }
  }
  return { screen, vi };
}

export function formatHash(screen: Screen, vi: string | null): string {
  return vi ? `#/${screen}/${encodeURIComponent(vi)}` : `#/${screen}`;
}

class AppState {
  screen = $state<Screen>("integrations");
  /** The integration the Costs and Query screens show; never picked automatically. */
  vi = $state<string | null>(null);
  /** Projector mode: bigger type, thicker focus rings, large charts. */
  large = $state(false);
  /** The banner's error. */
  error = $state<ApiError | null>(null);
  /**
   * Presenting one integration's review pack to its customer, slide by
   * slide (`month` null: the last closed month): nothing else is on screen,
   * no navigation, no workspace path or other customers' names, until the
   * presenter stops.
   */
  presenting = $state<{ vi: string; month: string | null } | null>(null);

  start(): () => void {
    try {
      this.large = localStorage.getItem(LARGE_KEY) === "1";
    } catch {
      this.large = false;
    }
    // The first screen after start is Integrations, whatever hash was left.
    this.screen = "integrations";
    this.vi = null;
    history.replaceState(null, "", formatHash(this.screen, null));
    const onHash = () => {
      if (this.presenting) {
        history.replaceState(null, "", formatHash(this.screen, this.vi));
        return;
      }
      const { screen, vi } = parseHash(location.hash);
      this.screen = screen;
      this.vi = vi;
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }

  /** Shows a screen; `vi` (when given) becomes the integration Costs and Query show. */
  go(screen: Screen, vi?: string | null): void {
    if (this.presenting) return;
    this.screen = screen;
    if (vi !== undefined) this.vi = vi;
    const hash = formatHash(screen, screen === "costs" || screen === "query" ? this.vi : null);
    if (location.hash !== hash) history.pushState(null, "", hash);
  }

  /** Selects the integration shown on Costs and Query. */
  selectVi(vi: string | null): void {
    if (this.presenting) return;
    this.vi = vi;
    if (this.screen === "costs" || this.screen === "query") {
      history.replaceState(null, "", formatHash(this.screen, vi));
    }
  }

  /**
   * Starts presenting an integration's review pack: `vi` from the
   * integration list, else the integration the Costs screen shows.
   * Whether it started.
   */
  present(vi?: string, month: string | null = null): boolean {
    if (this.presenting) return false;
    const name = vi ?? (this.screen === "costs" ? this.vi : null);
    if (name === null || name.trim() === "") return false;
    this.error = null;
    this.presenting = { vi: name, month };
    return true;
  }

  /** Back to the full app, where it was. */
  stopPresenting(): void {
    this.presenting = null;
  }

  setLarge(on: boolean): void {
    this.large = on;
    try {
      localStorage.setItem(LARGE_KEY, on ? "1" : "0");
    } catch {
      // storage unavailable: the toggle still works for this session
    }
  }

  /** Shows an error in the banner, unless the user asked for it (cancelled). */
  report(e: unknown): void {
    const error = toApiError(e);
    this.error = errorRemedy(error.code) === "quiet" ? null : error;
  }

  dismiss(): void {
    this.error = null;
  }

  /** Runs an action that returns nothing; whether it succeeded (its error is in the banner). */
  async succeeds(action: () => Promise<unknown>): Promise<boolean> {
    this.error = null;
    try {
      await action();
      return true;
    } catch (e) {
      this.report(e);
      return false;
    }
  }

  /** Runs an action for the banner: clears the old error, shows a new one. */
  async attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    this.error = null;
    try {
      return await action();
    } catch (e) {
      this.report(e);
      return undefined;
    }
  }
}

export const app = new AppState();
