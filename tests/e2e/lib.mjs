// Helpers shared by the end-to-end tests and the measurements.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { remote } from 'webdriverio';

export const DESKTOP_BIN = process.env.COSTCARVE_DESKTOP_BIN;
export const CLI_BIN = process.env.COSTCARVE_CLI_BIN;

/** A WebDriver session on the app: tauri-driver launches `application`. */
export async function startApp({ application = DESKTOP_BIN, logLevel = 'warn' } = {}) {
  if (!application) throw new Error('COSTCARVE_DESKTOP_BIN is not set (run through tests/e2e/run)');
  return remote({
    hostname: '127.0.0.1',
    port: Number(process.env.E2E_PORT || 4444),
    logLevel,
    connectionRetryTimeout: 180_000,
    connectionRetryCount: 0,
    capabilities: {
      'wdio:enforceWebDriverClassic': true,
      'tauri:options': { application },
    },
  });
}

/** CSS selector of a data-testid. */
export const tid = (id, extra = '') => `[data-testid="${id}"]${extra}`;

/** Every 12-digit account id in a text (not part of a longer number or a decimal), sorted, unique. */
export function accountIds(text) {
  return [...new Set(String(text).match(/(?<![\d.])\d{12}(?![\d.])/g) || [])].sort();
}

/**
 * A decimal string rounded to 2 places, half to even (rust_decimal's
 * `round_dp`, which the app uses for the totals it shows). Exact: BigInt.
 */
export function round2(text) {
  const m = String(text).trim().replace(/[,\s$]|USD/g, '').match(/^(-?)(\d*)(?:\.(\d*))?$/);
  if (!m) throw new Error(`not a decimal: '${text}'`);
  const [, sign, int = '', frac = ''] = m;
  const digits = BigInt((int || '0') + (frac + '00').slice(0, 2));
  const rest = frac.slice(2);
  let cents = digits;
  if (rest && /[1-9]/.test(rest)) {
    const first = Number(rest[0]);
    const tail = /[1-9]/.test(rest.slice(1));
    if (first > 5 || (first === 5 && tail) || (first === 5 && !tail && cents % 2n === 1n)) cents += 1n;
  }
  const s = cents.toString().padStart(3, '0');
  const out = `${s.slice(0, -2)}.${s.slice(-2)}`;
  return sign && cents !== 0n ? `-${out}` : out;
}

/** Runs the CLI; returns stdout (throws with stderr on a non-zero exit). */
export function cli(args, { json = false } = {}) {
  try {
    const out = execFileSync(CLI_BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return json ? JSON.parse(out) : out;
  } catch (e) {
    throw new Error(`costcarve ${args.join(' ')} failed (exit ${e.status}): ${e.stderr || e.message}`);
  }
}

/** A screenshot of the whole Xvfb screen (ImageMagick), or WebDriver's. */
export async function screenshot(browser, file) {
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    execFileSync('import', ['-window', 'root', file], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    return { file, how: 'import -window root' };
  } catch (e) {
    if (!browser) throw e;
    await browser.saveScreenshot(file);
    return { file, how: 'WebDriver takeScreenshot' };
  }
}

// ---- processes (Linux /proc) ----

/** All live pids with their parent pid and command name. */
export function processTable() {
  const rows = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      rows.push({ pid: Number(d), ppid: Number(fields[1]), comm, starttime: Number(fields[19]) });
    } catch {
      // gone meanwhile
    }
  }
  return rows;
}

/** The pid and its descendants. */
export function processTree(pid) {
  const table = processTable();
  const out = [];
  const walk = (p) => {
    const me = table.find((r) => r.pid === p);
    if (me) out.push(me);
    for (const c of table.filter((r) => r.ppid === p)) walk(c.pid);
  };
  walk(pid);
  return out;
}

/** Live processes running `binary` (by /proc/PID/exe), newest first. */
export function processesOf(binary) {
  const want = realpathSync(binary);
  return processTable()
    .filter((r) => {
      try {
        return readlinkSync(`/proc/${r.pid}/exe`) === want;
      } catch {
        return false;
      }
    })
    .sort((a, b) => b.starttime - a.starttime);
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Seconds since boot (CLOCK_BOOTTIME, 10 ms steps), the clock of /proc/PID/stat. */
export function uptimeSeconds() {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** When a process started, as a wall-clock ms timestamp (±10 ms). */
export function processStartWallMs(pid) {
  const row = processTable().find((r) => r.pid === pid);
  if (!row) throw new Error(`no process ${pid}`);
  const ageSeconds = uptimeSeconds() - row.starttime / CLK_TCK;
  return Date.now() - ageSeconds * 1000;
}

/** PSS in kB of one process, from smaps_rollup. */
export function pssKb(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const m = text.match(/^Pss:\s+(\d+) kB/m);
  return m ? Number(m[1]) : 0;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export { existsSync };
