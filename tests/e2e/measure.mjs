// Measures the desktop app (meant for the release build): cold start to the
// first interactive screen, and idle memory. Run through tests/e2e/measure,
// which provides Xvfb, a private Secret Service, tauri-driver and a fresh app home.
// Prints `MEASURE` lines; everything else is commentary.
//
// (a) Start time, two ways, each over N fresh launches (the demo workspace
//     already made by a warm-up launch, so the disk cache is warm: "cold" is
//     a new process, not a cold disk):
//   1. WebDriver. tauri-driver/WebKitWebDriver spawn the app for a new
//      session. Right after the session exists, a script in the page polls
//      (every 5 ms) for the Integrations screen's `vi-new` button to be laid
//      out (non-empty box, not hidden) and enabled, and returns the page's
//      wall-clock time then. The start is the app process's own start time
//      from /proc/PID/stat (kernel clock, 10 ms steps), not when the session
//      was asked for, so the drivers' setup before the spawn does not count.
//      Automation mode (the driver's hooks into WebKit) is included.
//   2. Direct spawn, no driver at all. The app is started as a plain child
//      process and the screen is polled with `import -window root -crop` on
//      the button's rectangle until its pixels equal those of the enabled
//      button recorded during the warm-up (so "drawn, and drawn as enabled").
//      Resolution is one screen grab (~0.1 s), and the grabs take some CPU
//      from the starting app on a 2-core machine.
// (b) Idle memory: the app started directly (no driver), first screen
//     detected as in (a2), then left alone for IDLE seconds; PSS summed over
//     the app and all its descendants (WebKitWebProcess, WebKitNetworkProcess)
//     from /proc/PID/smaps_rollup.
// (c) First-start memory: the same sum for a launch on an empty home (the
//     demo is generated, in a child process of the app), FIRST_START_SECONDS
//     (12) after the launch, and again IDLE seconds after the demo is made.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  DESKTOP_BIN,
  processStartWallMs,
  processTree,
  processesOf,
  pssKb,
  screenshot,
  sleep,
  startApp,
} from './lib.mjs';

const RUNS = Number(process.env.MEASURE_RUNS || 5);
const IDLE_SECONDS = Number(process.env.MEASURE_IDLE_SECONDS || 10);
const FIRST_START_SECONDS = Number(process.env.MEASURE_FIRST_START_SECONDS || 12);
const OUT_DIR = process.env.MEASURE_OUT_DIR || '/tmp';
const FIRST_TIMEOUT = 600_000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (xs) => xs.map((x) => Math.round(x)).join(', ');
const say = (line) => console.log(`MEASURE ${line}`);

/** In the page: resolves when vi-new is laid out and enabled. */
function waitForFirstScreen(done) {
  const ready = () => {
    const b = document.querySelector('[data-testid="vi-new"]');
    if (!b || b.disabled || b.getAttribute('aria-disabled') === 'true') return null;
    const r = b.getBoundingClientRect();
    const cs = getComputedStyle(b);
    if (r.width <= 0 || r.height <= 0 || cs.visibility === 'hidden' || cs.display === 'none' || Number(cs.opacity) === 0) return null;
    return { x: r.left, y: r.top, w: r.width, h: r.height };
  };
  const tick = () => {
    const rect = ready();
    if (rect) done({ at: Date.now(), origin: performance.timeOrigin, rect, dpr: window.devicePixelRatio });
    else setTimeout(tick, 5);
  };
  tick();
}

async function waitGone(pids, ms = 15_000) {
  const end = Date.now() + ms;
  const alive = () => pids.filter((p) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  });
  while (alive().length && Date.now() < end) await sleep(100);
  for (const p of alive()) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** One WebDriver launch: ms from the app process's start to the first screen. */
async function webdriverLaunch() {
  const asked = Date.now();
  const browser = await startApp();
  const sessionAt = Date.now();
  await browser.setTimeout({ script: FIRST_TIMEOUT });
  const app = processesOf(DESKTOP_BIN)[0];
  if (!app) throw new Error('the app process was not found');
  const spawnedAt = processStartWallMs(app.pid);
  const r = await browser.executeAsync(waitForFirstScreen);
  const tree = processTree(app.pid).map((p) => p.pid);
  return {
    browser,
    pid: app.pid,
    tree,
    firstScreenMs: r.at - spawnedAt,
    pageOriginMs: r.origin - spawnedAt,
    sessionMs: sessionAt - asked,
    rect: r.rect,
    dpr: r.dpr,
  };
}

async function closeSession(l) {
  await l.browser.deleteSession().catch(() => {});
  for (const p of l.tree) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // gone with the session
    }
  }
  await waitGone(l.tree);
}

/** The raw RGB of a screen rectangle, hashed. */
function grab(crop) {
  const raw = execFileSync('import', ['-window', 'root', '-crop', crop, '-depth', '8', 'rgb:-'], {
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return createHash('sha256').update(raw).digest('hex');
}

/** Starts the app as a plain process; resolves when the crop shows the reference. */
async function directLaunch(crop, reference, timeoutMs = 120_000) {
  const t0 = Date.now();
  const child = spawn(DESKTOP_BIN, [], { stdio: 'ignore', env: process.env });
  let exited = null;
  child.on('exit', (code, sig) => {
    exited = `exit ${code ?? sig}`;
  });
  let grabs = 0;
  let matchedAt = null;
  while (Date.now() - t0 < timeoutMs && !exited) {
    const at = Date.now();
    grabs += 1;
    let h = null;
    try {
      h = grab(crop);
    } catch {
      // no screen content yet
    }
    if (h === reference) {
      matchedAt = at;
      break;
    }
    await sleep(20);
  }
  const spawnedAt = (() => {
    try {
      return processStartWallMs(child.pid);
    } catch {
      return t0;
    }
  })();
  return { child, firstScreenMs: matchedAt === null ? null : matchedAt - spawnedAt, grabs, exited };
}

async function stopDirect(child) {
  const tree = processTree(child.pid).map((p) => p.pid);
  for (const p of tree) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // gone
    }
  }
  await waitGone(tree);
}

async function main() {
  if (!DESKTOP_BIN) throw new Error('COSTCARVE_DESKTOP_BIN is not set');
  console.log(`binary: ${DESKTOP_BIN}`);
  console.log(`app home: data ${process.env.COSTCARVE_DATA_DIR}, demo rows ${process.env.COSTCARVE_DEMO_ROWS || 'default (400000)'}`);

  // Warm-up: makes the demo workspace; records the enabled button's pixels.
  const warm = await webdriverLaunch();
  say(`first_start_with_demo_generation_ms=${Math.round(warm.firstScreenMs)} (one launch on an empty home: generates the demo workspace and its rollup, then shows Integrations)`);
  await sleep(3000);
  const s = warm.dpr || 1;
  const crop = `${Math.max(1, Math.floor(warm.rect.w * s) - 2)}x${Math.max(1, Math.floor(warm.rect.h * s) - 2)}+${Math.ceil(warm.rect.x * s) + 1}+${Math.ceil(warm.rect.y * s) + 1}`;
  const reference = grab(crop);
  const refShot = await screenshot(null, path.join(OUT_DIR, 'measure-first-screen.png'));
  console.log(`vi-new at ${crop} (screen pixels; the window sits at 0,0 on Xvfb without a window manager); reference screen: ${refShot.file}`);
  await closeSession(warm);

  // (a1) WebDriver launches.
  const wd = [];
  for (let i = 0; i < RUNS; i++) {
    const l = await webdriverLaunch();
    wd.push(l);
    console.log(`webdriver launch ${i + 1}: first screen ${Math.round(l.firstScreenMs)} ms after the process started (page navigation began at +${Math.round(l.pageOriginMs)} ms; new-session round trip ${l.sessionMs} ms)`);
    await closeSession(l);
  }
  const wdFirst = wd.map((l) => l.firstScreenMs);
  say(`cold_start_webdriver_median_ms=${Math.round(median(wdFirst))} runs=[${fmt(wdFirst)}] (process start from /proc -> vi-new laid out and enabled, seen from inside the page)`);
  say(`cold_start_webdriver_page_origin_median_ms=${Math.round(median(wd.map((l) => l.pageOriginMs)))} (process start -> the web view began loading the page)`);

  // (a2) Direct launches, no driver.
  const direct = [];
  for (let i = 0; i < RUNS; i++) {
    const l = await directLaunch(crop, reference);
    console.log(`direct launch ${i + 1}: ${l.firstScreenMs === null ? `button never matched (${l.exited || 'timeout'})` : `${Math.round(l.firstScreenMs)} ms`} (${l.grabs} screen grabs)`);
    if (l.firstScreenMs !== null) direct.push(l.firstScreenMs);
    await stopDirect(l.child);
  }
  if (direct.length) {
    say(`cold_start_direct_median_ms=${Math.round(median(direct))} runs=[${fmt(direct)}] (plain spawn, no driver -> the enabled vi-new button's pixels on screen; ~100 ms resolution)`);
  } else {
    say('cold_start_direct_median_ms=n/a (the button never matched its reference pixels; see the WebDriver number)');
  }

  // (b) Idle memory, started directly.
  const l = await directLaunch(crop, reference);
  if (l.firstScreenMs === null) console.log('memory: the first screen was not detected by pixels; waiting 30 s instead');
  await sleep((l.firstScreenMs === null ? 30 : 0) * 1000 + IDLE_SECONDS * 1000);
  const tree = processTree(l.child.pid);
  let total = 0;
  for (const p of tree) {
    const kb = pssKb(p.pid);
    total += kb;
    say(`idle_pss_mb process=${p.comm} pid=${p.pid} pss=${(kb / 1024).toFixed(1)}`);
  }
  say(`idle_pss_total_mb=${(total / 1024).toFixed(1)} processes=${tree.length} (PSS from /proc/PID/smaps_rollup, summed over the app and its descendants, ${IDLE_SECONDS} s after the first screen, started without a driver)`);
  await stopDirect(l.child);

  // (c) Memory on a first start, as a new user meets it: an empty app home
  // (the demo is generated), started directly, PSS FIRST_START_SECONDS after
  // the launch and again once the first screen is up and idle.
  const home = mkdtempSync(path.join(os.tmpdir(), 'costcarve-first-start-'));
  const env = { ...process.env, COSTCARVE_DATA_DIR: path.join(home, 'data'), COSTCARVE_CONFIG_DIR: path.join(home, 'config') };
  const t0 = Date.now();
  const child = spawn(DESKTOP_BIN, [], { stdio: 'ignore', env });
  await sleep(FIRST_START_SECONDS * 1000);
  const sum = (label) => {
    let kb = 0;
    const procs = processTree(child.pid);
    for (const p of procs) kb += pssKb(p.pid);
    say(`${label}=${(kb / 1024).toFixed(1)} processes=[${procs.map((p) => `${p.comm}:${(pssKb(p.pid) / 1024).toFixed(0)}`).join(', ')}]`);
  };
  sum(`first_start_pss_total_mb_at_${FIRST_START_SECONDS}s`);
  const demoMade = () => existsSync(path.join(home, 'data', 'demo', 'costcarve-workspace.json'));
  while (!demoMade() && Date.now() - t0 < 600_000) await sleep(200);
  await sleep(IDLE_SECONDS * 1000);
  sum(`first_start_pss_total_mb_idle (${IDLE_SECONDS} s after the demo was in place, ${Math.round((Date.now() - t0) / 1000)} s after launch)`);
  await stopDirect(child);
  rmSync(home, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`measure failed: ${e.stack || e}`);
  process.exit(1);
});
