// The user's path through CostCarve's real window, on the local demo
// workspace, as one ordered test: each step is a subtest sharing one
// WebDriver session (tauri-driver -> WebKitWebDriver -> the app binary).
// Run through tests/e2e/run, which sets the environment used here:
//   COSTCARVE_DESKTOP_BIN, COSTCARVE_CLI_BIN, COSTCARVE_DATA_DIR (the demo is
//   $COSTCARVE_DATA_DIR/demo), COSTCARVE_SAVE_DIR (where exports land),
//   E2E_SCREENSHOT_DIR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { CLI_BIN, accountIds, cli, existsSync, round2, screenshot, startApp, tid } from './lib.mjs';

const DATA_DIR = process.env.COSTCARVE_DATA_DIR;
const SAVE_DIR = process.env.COSTCARVE_SAVE_DIR;
const SHOTS = process.env.E2E_SCREENSHOT_DIR || path.resolve('../../target/e2e-screenshots');
const DEMO = DATA_DIR && path.join(DATA_DIR, 'demo');
const FIRST_SCREEN_TIMEOUT = Number(process.env.E2E_FIRST_SCREEN_TIMEOUT_MS || 150_000);
const WAIT = Number(process.env.E2E_WAIT_MS || 30_000);

let browser;
let shotNo = 0;
const shotsTaken = [];

// ---- small helpers over the session ----

const el = (id, extra) => browser.$(tid(id, extra));
const els = (id, extra) => browser.$$(tid(id, extra));

async function shown(id, { timeout = WAIT, extra = '' } = {}) {
  const e = await el(id, extra);
  await e.waitForDisplayed({ timeout, timeoutMsg: `${tid(id, extra)} was not displayed within ${timeout} ms` });
  return e;
}

async function click(id, opts = {}) {
  const e = await shown(id, opts);
  await e.waitForClickable({ timeout: opts.timeout ?? WAIT, timeoutMsg: `${tid(id, opts.extra ?? '')} was not clickable` });
  await e.click();
  return e;
}

async function isShown(id, extra = '') {
  const list = await els(id, extra);
  for (const e of list) if (await e.isDisplayed()) return true;
  return false;
}

/** Sets an input/textarea's value the way a person would; date inputs via their value setter. */
async function setValue(id, value, extra = '') {
  const e = await shown(id, { extra });
  const type = ((await e.getAttribute('type')) || '').toLowerCase();
  if (type !== 'date' && value !== '') {
    await e.click();
    await e.clearValue();
    await e.setValue(value);
  }
  if ((await e.getValue()) !== value) {
    // WebKit's date fields take no typed text, and clearing a field sends
    // no input event: set the value and send the events a person's edit
    // sends (what the UI's bindings listen to).
    await browser.execute(
      (node, v) => {
        const proto = Object.getPrototypeOf(node);
        Object.getOwnPropertyDescriptor(proto, 'value').set.call(node, v);
        node.dispatchEvent(new Event('input', { bubbles: true }));
        node.dispatchEvent(new Event('change', { bubbles: true }));
      },
      e,
      value,
    );
  }
  assert.equal(await e.getValue(), value, `${tid(id)} should hold '${value}'`);
  return e;
}

async function choose(id, value) {
  const e = await shown(id);
  const options = await browser.execute(
    (node) => [...node.options].map((o) => ({ value: o.value, text: o.textContent.trim() })),
    e,
  );
  const hit = options.find((o) => o.value === value) || options.find((o) => o.text === value);
  assert.ok(hit, `${tid(id)} has no option '${value}' (options: ${JSON.stringify(options)})`);
  await e.selectByAttribute('value', hit.value);
  if ((await e.getValue()) !== hit.value) {
    await browser.execute(
      (node, v) => {
        node.value = v;
        node.dispatchEvent(new Event('change', { bubbles: true }));
      },
      e,
      hit.value,
    );
  }
}

/**
 * The text of every element with this test id, leaf by leaf, joined with
 * spaces (a table's cells run together in textContent).
 */
async function allText(id) {
  return browser.execute((sel) => {
    const out = [];
    for (const root of document.querySelectorAll(sel)) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) out.push(n.nodeValue);
    }
    return out.join(' ');
  }, tid(id));
}

async function text(id, extra = '') {
  return (await (await shown(id, { extra })).getText()).trim();
}

/** What the app's error banner says, if one is shown. */
async function appError() {
  try {
    const list = await els('error');
    const out = [];
    for (const e of list) {
      if (await e.isDisplayed()) out.push(`[${await e.getAttribute('data-code')}] ${(await e.getText()).trim()}`);
    }
    return out.join(' | ');
  } catch {
    return '';
  }
}

/** Resolves after the page has painted twice (or 2 s), so a screenshot shows the DOM as it is now. */
async function painted() {
  await browser.executeAsync((done) => {
    const give_up = setTimeout(() => done('timeout'), 2000);
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        clearTimeout(give_up);
        done('painted');
      }),
    );
  });
}

/**
 * A screenshot of the window: WebDriver's takeScreenshot, after the page has
 * painted. Both it and `import -window root` on the Xvfb display show the
 * last painted frame, which lags the DOM (seen: a unit's Select clicked and
 * the count already 6 in the DOM, the picture still 0; right after two
 * animation frames, ~0.2 s, it was current). `import` was also seen stuck
 * on the wizard's first step while the page was on its third, until a
 * WebDriver screenshot made WebKit paint the window again.
 */
async function shot(name) {
  shotNo += 1;
  const file = path.join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  let how = 'WebDriver takeScreenshot';
  try {
    await painted();
    await browser.saveScreenshot(file);
  } catch (e) {
    how = (await screenshot(null, file)).how;
    console.log(`WebDriver screenshot failed (${e.message}); used ${how}`);
  }
  shotsTaken.push({ file, how });
  console.log(`screenshot: ${file} (${how})`);
}

/** Closes any open dialog (Escape), so an independent step can go on after a failure. */
async function closeDialogs() {
  for (let i = 0; i < 3; i++) {
    const open = await browser.execute(() => document.querySelectorAll('dialog[open]').length);
    if (!open) return;
    await browser.keys('Escape');
    await browser.pause(300);
  }
}

const until = (fn, timeoutMsg, timeout = WAIT) => browser.waitUntil(fn, { timeout, interval: 200, timeoutMsg });

function rowSel(name) {
  return `[data-testid="vi-row"][data-name="${name.replace(/"/g, '\\"')}"]`;
}

async function row(name) {
  const r = await browser.$(rowSel(name));
  await r.waitForDisplayed({ timeout: WAIT, timeoutMsg: `no vi-row for '${name}'` });
  return r;
}

async function clickInRow(name, id) {
  const b = await (await row(name)).$(tid(id));
  await b.waitForClickable({ timeout: WAIT, timeoutMsg: `${tid(id)} in the row of '${name}' is not clickable` });
  await b.click();
}

/** The number of accounts a row shows (its vi-accounts cell, else "N accounts"). */
async function rowCount(name) {
  const r = await row(name);
  const cell = await r.$(tid('vi-accounts'));
  const t = (await cell.isExisting()) ? await cell.getText() : await r.getText();
  const m = t.match(/(\d+)(?:\s+accounts?)?/i);
  return m ? Number(m[1]) : null;
}

/**
 * The chart is drawn at the size it is shown (asked with the box's width),
 * so its text is not scaled down: the SVG's own width is the one asked,
 * and it is shown within 10% of it.
 */
async function chartDrawnAsShown() {
  const chart = await shown('chart');
  const asked = Number(await chart.getAttribute('data-width'));
  const m = await browser.execute((sel) => {
    const svg = document.querySelector(`${sel} svg`);
    return { attr: Number(svg?.getAttribute('width')), shown: svg?.getBoundingClientRect().width ?? 0 };
  }, tid('chart'));
  assert.ok(asked >= 480, `the chart was asked at a width (data-width '${asked}')`);
  assert.equal(m.attr, asked, `the SVG is drawn ${asked} wide, as asked`);
  const scale = m.shown / m.attr;
  assert.ok(scale > 0.9 && scale < 1.1, `the SVG (${m.attr} px) is shown at ${Math.round(m.shown)} px: scaled by ${scale.toFixed(2)}`);
}

async function goto(nav, ready) {
  await click(nav);
  await shown(ready);
}

// ---- the data: what the demo organization holds (asked through the CLI) ----

function organization() {
  return cli(['--workspace', DEMO, 'accounts', '--json'], { json: true });
}

function viAccounts(name) {
  const v = cli(['--workspace', DEMO, 'vi', 'show', name, '--json'], { json: true });
  return [...(v.accounts || v.integration?.accounts || [])].map(String).sort();
}

/** The demo's organization file (the local workspace reads its organization from it). */
const ORG_FILE = () => path.join(DEMO, 'organization.json');
const readOrgFile = () => JSON.parse(readFileSync(ORG_FILE(), 'utf8'));

/** The OUs directly below the top-level `Customers`, by name (from the organization file). */
function customerUnits() {
  const units = readOrgFile().units;
  const root = units.find((u) => u.parent_id === null);
  const customers = units.find((u) => u.parent_id === root.id && u.name === 'Customers');
  assert.ok(customers, 'the demo organization has a Customers OU below the root');
  return units.filter((u) => u.parent_id === customers.id);
}

/** Account ids at or below a unit path, per `accounts --json`. */
function idsUnder(org, unitPath) {
  return org.filter((a) => a.unit === unitPath || a.unit.startsWith(`${unitPath}/`)).map((a) => a.id).sort();
}

/** The first value of `key` anywhere in a JSON value. */
function findKey(value, key) {
  if (value === null || typeof value !== 'object') return undefined;
  if (Object.hasOwn(value, key)) return value[key];
  for (const v of Object.values(value)) {
    const hit = findKey(v, key);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Every integration's name but `name`'s, per the CLI. */
function otherIntegrations(name) {
  return cli(['--workspace', DEMO, 'vi', 'list', '--json'], { json: true })
    .map((v) => v.name ?? v.integration?.name)
    .filter((n) => n && n !== name);
}

function firstOfMonth(d, monthsBack) {
  const x = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - monthsBack, 1));
  return x.toISOString().slice(0, 10);
}

// ---- the path ----

test('the user path on the demo workspace, in the real window', { timeout: 15 * 60_000 }, async (t) => {
  assert.ok(DATA_DIR && SAVE_DIR, 'run through tests/e2e/run (COSTCARVE_DATA_DIR, COSTCARVE_SAVE_DIR)');
  let broken = null;
  let appUp = false; // the first screen showed: later independent steps can run
  const step = (name, fn, { always = false } = {}) =>
    t.test(name, { skip: broken && !(always && appUp) ? `an earlier step failed: ${broken}` : false }, async () => {
      try {
        await fn();
      } catch (e) {
        if (!always) broken = name;
        const appSays = browser ? await appError() : '';
        if (browser) {
          try {
            await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`);
          } catch {
            // the screenshot is a help, not the test
          }
        }
        if (appSays) e.message += `\n  the app shows: ${appSays}`;
        throw e;
      }
    });

  // Chosen from the organization once the demo exists.
  let unitPath;
  let unitAccounts;
  let name;
  let removed;
  let added;
  const from = firstOfMonth(new Date(), 3);
  const to = firstOfMonth(new Date(), 0);

  try {
    await step('first start: the demo workspace is made and the Integrations screen shows', async () => {
      const t0 = Date.now();
      browser = await startApp();
      await browser.setTimeout({ script: 120_000 });
      await shown('vi-new', { timeout: FIRST_SCREEN_TIMEOUT });
      await (await el('vi-new')).waitForEnabled({ timeout: WAIT });
      console.log(`first screen after ${Date.now() - t0} ms (session + demo generation)`);
      assert.equal(await browser.getTitle(), 'CostCarve');
      assert.ok(existsSync(path.join(DEMO, 'costcarve-workspace.json')), `the demo was not made in ${DEMO}`);
      assert.equal((await els('vi-row')).length, 0, 'a fresh home has no integrations');
      // The empty screen of a new workspace offers one integration per customer OU.
      assert.equal(await (await shown('import-from-ou')).getValue(), 'Customers', 'the offer defaults to the Customers OU');
      await shown('import-from-ou-preview');
      appUp = true;
      await shot('integrations');
    });

    await step('wizard: pick one customer OU in the account picker', async () => {
      const org = organization();
      // The first customer's prod OU: 3-4 accounts, so the account chart
      // draws every one of them (it shows the top 8).
      const first = org.find((a) => a.tags?.customer && /\/prod$/.test(a.unit));
      assert.ok(first, 'the demo has customer accounts in a prod OU');
      unitPath = first.unit;
      unitAccounts = org.filter((a) => a.unit === unitPath).map((a) => a.id).sort();
      name = `${unitPath.split('/')[1]} prod`;
      console.log(`picking OU '${unitPath}': ${unitAccounts.join(', ')}; integration '${name}'`);

      await click('vi-new');
      await shown('wizard');
      await setValue('wizard-name', name);
      // The picker may share the first page with the name or follow it.
      for (let i = 0; i < 3 && !(await isShown('picker-search')); i++) await click('wizard-next');
      await shown('picker-search');
      // Open the OU tree down to the unit (only the root starts open).
      const parts = unitPath.split('/');
      for (let i = 1; i < parts.length; i++) {
        const above = await browser.$(`${tid('picker-unit')}[data-path="${parts.slice(0, i).join('/')}"]`);
        await above.waitForDisplayed({ timeout: WAIT, timeoutMsg: `no picker-unit '${parts.slice(0, i).join('/')}'` });
        const twisty = await above.$(tid('picker-unit-toggle'));
        if ((await twisty.isExisting()) && (await twisty.getAttribute('aria-expanded')) === 'false') await twisty.click();
      }
      const unit = await browser.$(`${tid('picker-unit')}[data-path="${unitPath}"]`);
      await unit.waitForDisplayed({ timeout: WAIT, timeoutMsg: `no picker-unit with data-path '${unitPath}'` });
      const select = await unit.$(tid('picker-unit-select'));
      await select.waitForClickable({ timeout: WAIT, timeoutMsg: `the Select button of '${unitPath}' is not clickable` });
      await select.click();
      await until(
        async () => (await text('picker-selected-count')).match(/\d+/)?.[0] === String(unitAccounts.length),
        `picker-selected-count should say ${unitAccounts.length}`,
      );
      await shot('wizard-picker');
    });

    await step('review: the view SQL names exactly the picked accounts', async () => {
      for (let i = 0; i < 3 && !(await isShown('review-sql')); i++) await click('wizard-next');
      const sql = await text('review-sql');
      assert.match(sql, /CREATE OR REPLACE VIEW/i);
      assert.deepEqual(accountIds(sql), unitAccounts, `the review's SQL:\n${sql}`);
      assert.ok((await text('review-filter')).length > 0, 'review-filter says something');
      await shot('wizard-review');
    });

    await step('create: the integration is listed with its accounts', async () => {
      await click('wizard-create');
      await shown('wizard-done', { timeout: 60_000 });
      assert.match(await text('wizard-done'), new RegExp(`${unitAccounts.length} accounts`));
      await click('wizard-cancel'); // "Close" once done
      await until(async () => !(await isShown('wizard')), 'the wizard did not close');
      await row(name);
      const count = await rowCount(name);
      assert.equal(count, unitAccounts.length, `the row of '${name}' should say ${unitAccounts.length} accounts`);
      assert.deepEqual(viAccounts(name), unitAccounts, 'the CLI sees the same accounts');
      await shot('integrations-created');
    });

    await step('costs: the account chart shows exactly its accounts and the total the CLI gives', async () => {
      await clickInRow(name, 'vi-costs');
      await shown('chart');
      const integration = await el('costs-integration');
      if ((await integration.getValue()) !== name) await choose('costs-integration', name);
      await setValue('costs-from', from);
      await setValue('costs-to', to);
      if (await isShown('costs-apply')) await click('costs-apply');
      await click('chart-kind-account');
      const cliTotal = cli(['--workspace', DEMO, 'cost', name, '--from', from, '--to', to, '--json'], { json: true }).total;
      const want = round2(String(cliTotal));
      let seen = '';
      let ids = [];
      await until(
        async () => {
          seen = await text('costs-total');
          ids = accountIds(await (await el('chart')).getHTML());
          return round2(seen.match(/-?[\d,]+(\.\d+)?/)?.[0] ?? 'x') === want && ids.length > 0;
        },
        `costs-total should become ${want} (the CLI's ${cliTotal} for ${from}..${to}); it shows '${seen}'`,
      ).catch((e) => {
        throw new Error(`${e.message}; last costs-total '${seen}', chart accounts ${ids.join(',')}`);
      });
      assert.deepEqual(ids, unitAccounts, 'the account chart draws exactly the integration\'s accounts');
      const svg = await (await el('chart')).getHTML();
      assert.doesNotMatch(svg, />\s*Other\s*</, 'no accounts folded into Other');
      for (const id of ['costs-as-of', 'movers']) {
        await (await el(id)).waitForExist({ timeout: WAIT, timeoutMsg: `${tid(id)} is not on the Costs screen` });
      }
      console.log(`costs-total ${seen} == CLI total ${cliTotal} (rounded ${want}) for ${from}..${to}`);
      // Read as customers read it: the currency and thousands separators, as the backend formats it.
      assert.match(seen, /^-?\$\d{1,3}(,\d{3})*\.\d{2}$/, `costs-total reads as money: '${seen}'`);
      assert.match(await text('costs-basis'), /^Unblended cost \(as billed\); nothing left out\.$/, 'the basis is said under the chart');
      assert.match(await text('costs-range'), /^\d{1,2} [A-Z][a-z]{2} \d{4} to \d{1,2} [A-Z][a-z]{2} \d{4}$/, 'the range in the one date format');
      await chartDrawnAsShown();
      await shot('costs-account-chart');
      await click('chart-kind-stacked');
      await until(async () => !accountIds(await (await el('chart')).getHTML()).length, 'the stacked chart should not be by account');
      // The totals beside the chart name services as customers know them (not CUR codes like AmazonEC2).
      const labels = await browser.execute((sel) => [...document.querySelectorAll(sel)].map((r) => r.dataset.label), tid('costs-totals-row'));
      assert.ok(labels.length > 0, 'costs-totals lists the chart\'s services');
      for (const l of labels) assert.doesNotMatch(l, /^(Amazon|AWS)[A-Z][A-Za-z0-9]+$/, `a service named by its code: '${l}' (all: ${labels.join(', ')})`);
      // The movers too, once a chart has named their services.
      await until(async () => (await els('mover-row')).length > 0, 'no top movers');
      let moverLabels = [];
      await until(async () => {
        moverLabels = await browser.execute((sel) => [...document.querySelectorAll(sel)].map((r) => r.dataset.label), tid('mover-row'));
        return moverLabels.every((l) => !/^(Amazon|AWS)[A-Z][A-Za-z0-9]+$/.test(l));
      }, 'the movers name services by their codes').catch((e) => {
        throw new Error(`${e.message}: ${moverLabels.join(', ')}`);
      });
      const moverCells = await allText('movers');
      assert.match(moverCells, /\$\d/, `the movers' amounts carry the currency: ${moverCells.slice(0, 200)}`);
      await chartDrawnAsShown();
      await shot('costs-stacked-chart');
      // Present from the Costs screen: the selected integration's pack, full window, until stopped.
      await click('present');
      const slide = await shown('slide', { timeout: 2 * WAIT });
      assert.equal(await slide.getAttribute('data-page'), 'cover');
      assert.match(await text('slide-header'), new RegExp(`^${name} · [A-Z][a-z]+ \\d{4}$`), 'the slide names the presented integration');
      for (const id of ['nav-integrations', 'nav-query', 'costs-integration', 'workspace-label', 'costs-apply']) {
        assert.equal(await isShown(id), false, `${tid(id)} is hidden while presenting`);
      }
      await click('present-stop');
      await shown('costs-integration');
      assert.equal(await isShown('presenter'), false, 'the slides are gone');
      assert.equal(await (await el('costs-integration')).getValue(), name, 'back on the Costs screen as it was');
    });

    await step('edit: remove one account, add two; the diff shows them; the list shows the new count', async () => {
      const org = organization();
      removed = unitAccounts[0];
      // Two accounts of the same customer's dev OU (in no integration yet).
      const devPath = unitPath.replace(/\/prod$/, '/dev');
      added = org.filter((a) => a.unit === devPath).map((a) => a.id).sort().slice(0, 2);
      assert.equal(added.length, 2, `the demo's ${devPath} has accounts`);
      await goto('nav-integrations', 'vi-new');
      await clickInRow(name, 'vi-edit');
      await shown('picker-search');
      const toggleAccount = async (id, wantChecked) => {
        await setValue('picker-search', id);
        const acc = await browser.$(`${tid('picker-account')}[data-id="${id}"]`);
        await acc.waitForDisplayed({ timeout: WAIT, timeoutMsg: `no picker-account ${id} after searching it` });
        const box = await acc.$('input[type="checkbox"]');
        assert.equal(await box.isSelected(), !wantChecked, `account ${id} starts ${wantChecked ? 'un' : ''}checked`);
        await box.click();
        await until(async () => (await box.isSelected()) === wantChecked, `account ${id} did not toggle`);
      };
      await toggleAccount(removed, false);
      for (const id of added) await toggleAccount(id, true);
      await setValue('picker-search', '');
      const after = [...unitAccounts.filter((a) => a !== removed), ...added].sort();
      await until(
        async () => (await text('picker-selected-count')).match(/\d+/)?.[0] === String(after.length),
        `picker-selected-count should say ${after.length}`,
      );
      // The diff is shown before saving.
      await shown('edit-diff');
      await until(
        async () => JSON.stringify(accountIds(await allText('diff-added'))) === JSON.stringify(added),
        `diff-added should list ${added.join(', ')}`,
      );
      const gone = accountIds(await allText('diff-removed'));
      assert.deepEqual(gone, [removed], 'diff-removed lists the removed account');
      await shot('edit-diff');
      await click('edit-save');
      if (await browser.$(tid('confirm-dialog')).isDisplayed().catch(() => false)) await click('confirm-yes');
      await until(async () => (await rowCount(name).catch(() => null)) === after.length, `the row should say ${after.length} accounts`);
      assert.deepEqual(viAccounts(name), after, 'the CLI sees the edited accounts');
      unitAccounts = after;
      await shot('integrations-edited');
    });

    await step('verify: each check passes with the evidence the CLI gives; nothing is billed locally', async () => {
      await goto('nav-integrations', 'vi-new');
      await clickInRow(name, 'vi-verify');
      await shown('verify-run');
      const cost = await text('verify-cost');
      assert.ok(cost.includes('Nothing is billed'), `a local verify costs nothing: '${cost}'`);
      await click('verify-run');
      await shown('verify-verdict', { timeout: 2 * WAIT });
      assert.equal(await (await el('verify-verdict')).getAttribute('data-ok'), 'true', await text('verify-verdict'));
      const report = cli(['--workspace', DEMO, 'vi', 'verify', name, '--json'], { json: true });
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal((await els('verify-check')).length, report.checks.length, 'one row per check');
      for (const c of report.checks) {
        const row = await browser.$(`${tid('verify-check')}[data-name="${c.name}"]`);
        assert.equal(await row.getAttribute('data-ok'), String(c.ok), `${c.name} as the CLI says`);
      }
      const months = report.checks.find((c) => c.name === 'reconciliation').evidence.months;
      assert.equal((await els('verify-month')).length, months.length);
      for (const m of months) {
        const cells = await allText('verify-months-table');
        assert.ok(cells.includes(m.month) && cells.includes(m.line_items), `${m.month} ${m.line_items} in '${cells}'`);
      }
      const seen = report.checks.find((c) => c.name === 'isolation_line_items').evidence.seen;
      const seenText = await allText('verify-seen');
      for (const id of seen) assert.ok(seenText.includes(id), `${id} listed as seen: '${seenText}'`);
      await shot('verify');
      await click('verify-close');
      await until(async () => !(await isShown('verify-run')), 'the verify dialog did not close');
    });

    await step('sharing: a local workspace offers no Share, says it needs a payer connection; the CLI refuses alike', async () => {
      await goto('nav-integrations', 'vi-new');
      await row(name);
      for (const id of ['vi-share', 'vi-unshare', 'vi-shared']) {
        assert.equal((await els(id)).length, 0, `${tid(id)} is not offered in a local workspace`);
      }
      const note = await text('share-local-note');
      assert.match(note, /needs a payer opened through a connection/, `the note says what sharing needs: '${note}'`);
      // The backend refuses too, with the same reason, and shares nothing.
      let refused = null;
      try {
        execFileSync(CLI_BIN, ['--workspace', DEMO, 'vi', 'share', name, '--with', unitAccounts[0]], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        refused = e;
      }
      assert.ok(refused, `costcarve vi share should refuse in a local workspace`);
      assert.equal(refused.status, 2, `exit 2 (invalid input): ${refused.stderr}`);
      assert.match(refused.stderr, /open a payer through a connection/, `the CLI says why: ${refused.stderr}`);
      const v = cli(['--workspace', DEMO, 'vi', 'show', name, '--json'], { json: true });
      assert.deepEqual(v.shared_with ?? [], [], `vi show: shared with no one (${JSON.stringify(v.shared_with)})`);
      await shot('integrations-local-no-sharing');
    });

    await step('query: an escape is refused inline; a legitimate query shows only its accounts', async () => {
      await goto('nav-query', 'query-sql');
      await choose('query-integration', name);
      const refused = async (sql, mention) => {
        await setValue('query-sql', sql);
        await click('query-run');
        const err = await shown('query-error');
        await until(async () => (await err.getAttribute('data-code')) === 'query_rejected', `'${sql}' should be refused with data-code query_rejected`);
        const why = (await err.getText()).trim();
        assert.match(why, mention, `the refusal says why: ${why}`);
        assert.equal(accountIds(await allText('query-results')).length, 0, 'no rows shown for a refused query');
        return why;
      };
      const why = await refused('SELECT * FROM costcarve.integrations', /integrations|only the table/i);
      console.log(`refused: ${why}`);
      await shot('query-refused');
      await refused('SELECT * FROM information_schema.tables', /information_schema|only the table|system/i);
      await refused(`SELECT * FROM cur UNION ALL SELECT * FROM vi_other_customer`, /vi_other_customer|only the table/i);

      await setValue(
        'query-sql',
        'SELECT line_item_usage_account_id AS account, SUM(line_item_unblended_cost) AS cost FROM cur GROUP BY 1 ORDER BY 1',
      );
      await click('query-run');
      await shown('query-results');
      await until(async () => accountIds(await allText('query-results')).length > 0, 'the query shows rows');
      assert.ok(!(await isShown('query-error')), 'no error for a legitimate query');
      const rows = await allText('query-results');
      assert.deepEqual(accountIds(rows), unitAccounts, `the rows are the integration's accounts only: ${rows}`);
      if (await isShown('query-row-count')) {
        assert.match(await text('query-row-count'), new RegExp(`^${unitAccounts.length} rows`));
      }
      // A <details>, closed: its text is read, not its rendering.
      const executed = (await (await el('query-executed')).getProperty('textContent')).trim();
      assert.match(executed, /vi_/i, `the executed SQL reads the integration's view: ${executed}`);
      await shot('query-results');
      if (await isShown('query-export')) {
        await click('query-export');
        await until(() => readdirSync(SAVE_DIR).some((f) => f.endsWith('-query.csv')), 'the query CSV was not written');
        const f = readdirSync(SAVE_DIR).find((x) => x.endsWith('-query.csv'));
        const csv = readFileSync(path.join(SAVE_DIR, f), 'utf8');
        assert.match(csv.split('\n')[0], /account/);
        assert.deepEqual(accountIds(csv), unitAccounts, 'the exported query rows');
      }
    });

    await step('cancel: a long query is stopped; the screen says so, with no error (the UI branches on the code `cancelled`)', async () => {
      await goto('nav-query', 'query-sql');
      await choose('query-integration', name);
      // Seconds of work on the demo, and it ends by itself (about 15 s) even if cancel did not stop it.
      await setValue(
        'query-sql',
        'SELECT count(*) FROM cur a, cur b, (SELECT * FROM cur LIMIT 8) c WHERE a.line_item_unblended_cost < b.line_item_unblended_cost + c.line_item_unblended_cost',
      );
      await click('query-run');
      await shown('query-busy');
      await click('query-cancel');
      await shown('query-cancelled');
      assert.ok(!(await isShown('query-error')), 'a cancelled query shows no error');
      assert.ok(!(await isShown('error')), 'and no error banner');
      assert.equal(accountIds(await allText('query-results')).length, 0, 'no rows of the stopped query');
      await shot('query-cancelled');
    });

    await step('export: the chart as PNG (and SVG and CSV) lands in the save folder', async () => {
      await goto('nav-costs', 'chart');
      const integration = await el('costs-integration');
      if ((await integration.getValue()) !== name) await choose('costs-integration', name);
      const exported = async (id, ext) => {
        const before = new Set(readdirSync(SAVE_DIR));
        await click(id);
        await until(
          () => readdirSync(SAVE_DIR).some((f) => f.endsWith(`.${ext}`) && (!before.has(f) || statSync(path.join(SAVE_DIR, f)).mtimeMs > Date.now() - 20_000)),
          `no .${ext} file appeared in ${SAVE_DIR}`,
        );
        const done = await text('export-done');
        const file = readdirSync(SAVE_DIR).filter((f) => f.endsWith(`.${ext}`)).map((f) => path.join(SAVE_DIR, f))
          .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
        assert.ok(done.includes(path.basename(file)), `export-done shows the saved path (${file}): '${done}'`);
        return readFileSync(file);
      };
      const png = await exported('export-png', 'png');
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG signature');
      assert.ok(png.length > 2000, `a real picture (${png.length} bytes)`);
      const svg = await exported('export-svg', 'svg');
      assert.match(svg.toString('utf8'), /<svg/);
      const csv = (await exported('export-csv', 'csv')).toString('utf8');
      assert.match(csv.split('\n')[0], /^period,/);
      await shot('costs-exported');
    });

    await step('workspace screen: shows the demo workspace', async () => {
      await closeDialogs();
      await goto('nav-workspace', 'open-demo');
      assert.equal(await (await el('workspace-label')).getAttribute('data-kind'), 'demo');
      const label = (await (await el('workspace-label')).getProperty('textContent')).trim();
      assert.ok(label.includes(DEMO), `the label names the demo folder ${DEMO}: '${label}'`);
      await shot('workspace');
    }, { always: true });

    await step('delete: confirm, and the integration is gone', async () => {
      await goto('nav-integrations', 'vi-new');
      await clickInRow(name, 'vi-delete');
      await shown('confirm-dialog');
      await click('confirm-yes');
      await until(async () => !(await isShown('confirm-dialog')), 'the confirm dialog did not close');
      const list = cli(['--workspace', DEMO, 'vi', 'list', '--json'], { json: true });
      assert.equal(list.length, 0, `the CLI lists none: ${JSON.stringify(list)}`);
      await until(
        async () => !(await browser.$(rowSel(name)).isExisting()),
        `'${name}' is still listed, though the workspace no longer has it (the CLI lists none): the list was not refreshed after the delete`,
      );
      await shot('integrations-deleted');
    });

    // The workspace is empty again: the import, then rules and sync on what it made.
    let customers = []; // the imported integrations: [{ name, path }]
    let ruleName;

    await step('import: one integration per customer OU, from the empty Integrations screen', async () => {
      await goto('nav-integrations', 'vi-new');
      await shown('vi-empty');
      const units = customerUnits();
      const wanted = units.map((u) => u.name).sort();
      const org = organization();
      // A bad CSV first: the message names every bad row, as the CLI's does, and nothing is made.
      const badCsv = 'name,ous,tags\nGood One,Shared services,\nBad OU,Customers/Nowhere,\nBad tag,,envprod\n';
      const badFile = path.join(SAVE_DIR, 'bad-import.csv');
      writeFileSync(badFile, badCsv);
      let cliSays = '';
      try {
        cli(['--workspace', DEMO, 'vi', 'import', badFile]);
      } catch (e) {
        cliSays = e.message;
      }
      const badRows = cliSays.match(/line \d+ \([^)]*\)/g) ?? [];
      assert.equal(badRows.length, 2, `the CLI refuses the file naming its two bad rows: ${cliSays}`);
      await click('vi-import');
      await shown('import');
      await setValue('import-csv', badCsv);
      await click('import-csv-preview');
      const inDialog = await browser.$(`${tid('import')} ${tid('error-message')}`);
      await inDialog.waitForDisplayed({ timeout: WAIT, timeoutMsg: 'the import dialog shows no error for a bad CSV' });
      const says = await inDialog.getText();
      for (const r of badRows) assert.ok(says.includes(r), `the app's message names ${r} as the CLI does: '${says}'`);
      assert.equal((await els('import-preview-row')).length, 0, 'no preview for a bad file');
      await shot('import-bad-csv');
      await click('import-cancel');
      await until(async () => !(await isShown('import')), 'the import dialog did not close');
      assert.deepEqual(cli(['--workspace', DEMO, 'vi', 'list', '--json'], { json: true }), [], 'a bad file makes nothing');
      await shown('vi-empty');
      await setValue('import-from-ou', 'Customers');
      await click('import-from-ou-preview');
      await shown('import-preview', { timeout: 2 * WAIT });
      const previewRows = async () =>
        browser.execute(
          (sel) =>
            [...document.querySelectorAll(sel)].map((r) => ({
              name: r.dataset.name,
              action: r.dataset.action,
              accounts: Number(r.querySelector('[data-testid="import-accounts"]').textContent.trim()),
              rules: r.querySelector('[data-testid="import-rules"]').textContent.trim(),
            })),
          tid('import-preview-row'),
        );
      let rows = [];
      await until(async () => (rows = await previewRows()).length === wanted.length, `import-preview-row should list ${wanted.length} rows (the child OUs of Customers)`).catch(
        (e) => {
          throw new Error(`${e.message}; it lists ${JSON.stringify(rows)}`);
        },
      );
      assert.deepEqual(rows.map((r) => r.name).sort(), wanted, 'one preview row per child OU of Customers');
      for (const r of rows) {
        const ids = idsUnder(org, `Customers/${r.name}`);
        assert.equal(r.action, 'create', `${r.name} is to be created`);
        assert.equal(r.accounts, ids.length, `${r.name}: the preview's account count is the accounts under Customers/${r.name}`);
        assert.match(r.rules, new RegExp(`Customers/${r.name}`), `${r.name}'s rule names its OU: '${r.rules}'`);
      }
      await shot('import-preview');
      assert.match(await text('import-run'), new RegExp(`Create ${wanted.length} integrations`));
      await click('import-run');
      // Per-row progress while it runs (a local create is quick: it may be done before a look).
      const sawProgress = await isShown('import-progress');
      await until(async () => (await els('import-result-row')).length === wanted.length, `import-result-row should list ${wanted.length} rows`, 4 * WAIT);
      console.log(`import ran${sawProgress ? ', progress shown meanwhile' : ' (finished before progress was looked at)'}`);
      const outcomes = await browser.execute(
        (sel) => [...document.querySelectorAll(sel)].map((r) => [r.dataset.name, r.dataset.outcome]),
        tid('import-result-row'),
      );
      for (const [n, outcome] of outcomes) assert.equal(outcome, 'created', `${n} says created`);
      assert.match(await text('import-summary'), new RegExp(`^${wanted.length} created, 0 unchanged, 0 failed`));
      await shot('import-result');
      await click('import-close');
      await until(async () => !(await isShown('import')), 'the import dialog did not close');
      const listed = cli(['--workspace', DEMO, 'vi', 'list', '--json'], { json: true }).map((v) => v.name).sort();
      assert.deepEqual(listed, wanted, 'the CLI lists one integration per customer OU');
      for (const n of wanted) {
        const ids = idsUnder(org, `Customers/${n}`);
        assert.deepEqual(viAccounts(n), ids, `vi show '${n}': the accounts under Customers/${n}`);
        await until(async () => (await rowCount(n).catch(() => null)) === ids.length, `the row of '${n}' should say ${ids.length} accounts`);
        const rules = await (await (await row(n)).$(tid('vi-rules'))).getText();
        assert.match(rules, new RegExp(`Customers/${n}`), `the row of '${n}' shows its rule in words: '${rules}'`);
      }
      assert.equal((await els('vi-row')).length, wanted.length, 'one row per customer');
      customers = units.map((u) => ({ name: u.name, path: `Customers/${u.name}` })).sort((a, b) => a.name.localeCompare(b.name));
      await shot('integrations-imported');
    });

    await step('picker: "include this OU and everything under it" makes a rule; the preview counts the accounts under it', async () => {
      const org = organization();
      const unitPathHere = 'Shared services';
      const ids = idsUnder(org, unitPathHere);
      assert.ok(ids.length > 0, `the demo has accounts under ${unitPathHere}`);
      ruleName = 'Shared platform';
      await goto('nav-integrations', 'vi-new');
      await click('vi-new');
      await shown('wizard');
      await setValue('wizard-name', ruleName);
      for (let i = 0; i < 3 && !(await isShown('picker-search')); i++) await click('wizard-next');
      const unit = await browser.$(`${tid('picker-unit')}[data-path="${unitPathHere}"]`);
      await unit.waitForDisplayed({ timeout: WAIT, timeoutMsg: `no picker-unit '${unitPathHere}'` });
      const include = await unit.$(tid('picker-include-ou'));
      assert.match(await include.getAttribute('aria-label'), /Include this OU and everything under it/);
      await include.click();
      const chip = await browser.$(`${tid('rule-chip')}[data-kind="ou"][data-value="${unitPathHere}"]`);
      await chip.waitForDisplayed({ timeout: WAIT, timeoutMsg: `no rule chip for OU ${unitPathHere}` });
      const previewCount = async () => {
        const e = await browser.$(tid('rules-preview-count'));
        return (await e.isDisplayed().catch(() => false)) ? Number(await e.getAttribute('data-count')) : null;
      };
      await until(async () => (await previewCount()) === ids.length, `rules-preview-count should say ${ids.length} (the accounts under ${unitPathHere})`);
      assert.match(await text('rules-preview-count'), new RegExp(`^${ids.length} accounts?$`));
      // The accounts the rule names show as included, not checkable one by one.
      await setValue('picker-search', ids[0]);
      const acc = await browser.$(`${tid('picker-account')}[data-id="${ids[0]}"]`);
      await acc.waitForDisplayed({ timeout: WAIT, timeoutMsg: `no picker-account ${ids[0]}` });
      assert.equal(await acc.getAttribute('data-state'), 'included');
      assert.equal(await (await acc.$('input[type="checkbox"]')).isEnabled(), false, 'an included account is not ticked by hand');
      // A tag rule naming accounts another integration holds: left out, with the reason.
      const tagged = org.filter((a) => a.tags?.customer === 'acme-retail');
      assert.ok(tagged.length > 0, 'the demo tags Acme Retail accounts customer=acme-retail');
      await setValue('picker-search', tagged[0].id);
      const tag = await browser.$(`${tid('picker-account')}[data-id="${tagged[0].id}"] ${tid('picker-tag')}[data-tag="customer=acme-retail"]`);
      await tag.waitForClickable({ timeout: WAIT, timeoutMsg: 'no tag chip customer=acme-retail on an Acme account' });
      await tag.click();
      await (await browser.$(`${tid('rule-chip')}[data-kind="tag"][data-value="customer=acme-retail"]`)).waitForDisplayed({ timeout: WAIT });
      const holders = organization().filter((a) => a.tags?.customer === 'acme-retail');
      await until(async () => (await els('left-out-row')).length === holders.length, `left-out-row should list the ${holders.length} accounts tagged customer=acme-retail`);
      const leftOut = await browser.execute((sel) => [...document.querySelectorAll(sel)].map((r) => [r.dataset.id, r.textContent]), tid('left-out-row'));
      for (const a of holders) {
        const hit = leftOut.find(([id]) => id === a.id);
        assert.ok(hit, `${a.id} is listed as left out`);
        for (const vi of a.integrations) assert.ok(hit[1].includes(vi), `${a.id}'s reason names ${vi} (the CLI's holder): '${hit[1]}'`);
      }
      assert.equal(await previewCount(), ids.length, 'the count is still the accounts under the OU');
      await setValue('picker-search', '');
      await shot('picker-rules');
      await (await browser.$(`${tid('rule-chip')}[data-kind="tag"] ${tid('rule-chip-remove')}`)).click();
      await until(async () => (await els('left-out-row')).length === 0, 'removing the tag rule drops the left-out accounts');
      // Review and create: the SQL names the OU's accounts; the CLI keeps the rule.
      // One Next: the review resolves the rules first (a second click would land on Create).
      await click('wizard-next');
      await shown('review-sql', { timeout: 2 * WAIT });
      assert.deepEqual(accountIds(await text('review-sql')), ids, 'the review SQL names the accounts under the OU');
      assert.match(await text('review-rules'), new RegExp(unitPathHere));
      await click('wizard-create');
      await shown('wizard-done', { timeout: 60_000 });
      await click('wizard-cancel');
      await until(async () => !(await isShown('wizard')), 'the wizard did not close');
      const v = cli(['--workspace', DEMO, 'vi', 'show', ruleName, '--json'], { json: true });
      assert.deepEqual(viAccounts(ruleName), ids, `vi show '${ruleName}': the accounts under ${unitPathHere}`);
      assert.ok(JSON.stringify(v.rules ?? v).includes(unitPathHere), `the CLI keeps the OU rule: ${JSON.stringify(v.rules)}`);
      await until(async () => (await rowCount(ruleName).catch(() => null)) === ids.length, `the row of '${ruleName}' should say ${ids.length} accounts`);
    });

    await step('sync: an account moved between two customer OUs; Refresh says 2 integrations are out of date; Apply; the CLI agrees', async () => {
      assert.ok(customers.length >= 2, 'the import made two customers or more');
      const [from, to] = customers;
      const file = readOrgFile();
      const unitOf = (p) => {
        const byId = new Map(file.units.map((u) => [u.id, u]));
        const pathOf = (u) => (u.parent_id === null ? '' : [pathOf(byId.get(u.parent_id)), u.name].filter(Boolean).join('/'));
        return file.units.find((u) => pathOf(u) === p);
      };
      const fromIds = viAccounts(from.name);
      const moved = fromIds[0];
      const target = unitOf(`${to.path}/prod`) ?? unitOf(to.path);
      assert.ok(target, `no unit ${to.path}/prod in the organization file`);
      const account = file.accounts.find((a) => a.id === moved);
      assert.ok(account, `${moved} is in the organization file`);
      console.log(`moving ${moved} (${account.name}) from ${from.path} to ${to.path}`);
      account.parent_id = target.id;
      writeFileSync(ORG_FILE(), JSON.stringify(file, null, 2));
      const org = organization();
      assert.equal(org.find((a) => a.id === moved).unit.startsWith(to.path), true, 'the CLI sees the account in its new OU');
      await goto('nav-integrations', 'vi-new');
      await click('vi-reload');
      await shown('sync-banner', { timeout: 2 * WAIT });
      assert.equal(await text('sync-title'), '2 integrations out of date');
      const fromRow = await browser.$(`${tid('sync-row')}[data-name="${from.name}"]`);
      const toRow = await browser.$(`${tid('sync-row')}[data-name="${to.name}"]`);
      assert.ok(await fromRow.isDisplayed(), `the banner lists ${from.name}`);
      assert.ok(await toRow.isDisplayed(), `the banner lists ${to.name}`);
      const removedText = await (await fromRow.$(`${tid('sync-removed')}[data-id="${moved}"]`)).getText();
      assert.ok(removedText.includes(moved) && removedText.includes(account.name), `${from.name} drops ${moved} (${account.name}): '${removedText}'`);
      const addedText = await (await toRow.$(`${tid('sync-added')}[data-id="${moved}"]`)).getText();
      assert.ok(addedText.includes(moved) && addedText.includes(account.name), `${to.name} gains ${moved} (${account.name}): '${addedText}'`);
      await shot('sync-banner');
      await click('sync-apply');
      await shown('sync-done', { timeout: 2 * WAIT });
      assert.equal(await (await el('sync-done')).getAttribute('data-failed'), '0', await text('sync-done'));
      assert.ok(!(await isShown('sync-banner')), 'the banner is gone once applied');
      const nowFrom = viAccounts(from.name);
      const nowTo = viAccounts(to.name);
      assert.ok(!nowFrom.includes(moved), `vi show '${from.name}' no longer has ${moved}`);
      assert.ok(nowTo.includes(moved), `vi show '${to.name}' has ${moved}`);
      assert.deepEqual(nowFrom, idsUnder(org, from.path), `vi show '${from.name}': the accounts under ${from.path} now`);
      assert.deepEqual(nowTo, idsUnder(org, to.path), `vi show '${to.name}': the accounts under ${to.path} now`);
      await until(async () => (await rowCount(from.name)) === nowFrom.length && (await rowCount(to.name)) === nowTo.length, 'the list shows the synced counts');
      // Refresh again: nothing out of date.
      await click('vi-reload');
      await shown('sync-ok', { timeout: 2 * WAIT });
      await shot('sync-applied');
    });

    await step('edit rules: exclude one account the OU rule includes; the diff shows it; the CLI keeps the exclusion', async () => {
      const before = viAccounts(ruleName);
      const dropped = before[0];
      await goto('nav-integrations', 'vi-new');
      await clickInRow(ruleName, 'vi-edit');
      await shown('picker-search');
      await (await browser.$(`${tid('rule-chip')}[data-kind="ou"]`)).waitForDisplayed({ timeout: WAIT, timeoutMsg: 'the edit shows the integration\'s OU rule as a chip' });
      await until(async () => Number(await (await el('rules-preview-count')).getAttribute('data-count').catch(() => -1)) === before.length, `rules-preview-count should start at ${before.length}`);
      assert.ok(await (await el('edit-save')).getAttribute('disabled') !== null, 'nothing to save before a change');
      await setValue('picker-search', dropped);
      const acc = await browser.$(`${tid('picker-account')}[data-id="${dropped}"]`);
      await acc.waitForDisplayed({ timeout: WAIT, timeoutMsg: `no picker-account ${dropped}` });
      assert.equal(await acc.getAttribute('data-state'), 'included');
      await (await acc.$(tid('picker-exclude'))).click();
      await (await browser.$(`${tid('rule-chip')}[data-kind="exclude"][data-value="${dropped}"]`)).waitForDisplayed({ timeout: WAIT, timeoutMsg: 'no exclusion chip' });
      await until(async () => Number(await (await el('rules-preview-count')).getAttribute('data-count').catch(() => -1)) === before.length - 1, `rules-preview-count should say ${before.length - 1}`);
      await until(async () => JSON.stringify(accountIds(await allText('diff-removed'))) === JSON.stringify([dropped]), `diff-removed should list ${dropped}`);
      assert.deepEqual(accountIds(await allText('diff-added')), [], 'nothing added');
      await setValue('picker-search', '');
      await shot('edit-rules-exclude');
      await click('edit-save');
      await until(async () => (await rowCount(ruleName).catch(() => null)) === before.length - 1, `the row should say ${before.length - 1} accounts`);
      const v = cli(['--workspace', DEMO, 'vi', 'show', ruleName, '--json'], { json: true });
      assert.deepEqual(viAccounts(ruleName), before.filter((id) => id !== dropped), 'vi show: the account is gone');
      assert.deepEqual(v.rules.exclude, [dropped], `vi show keeps the exclusion: ${JSON.stringify(v.rules)}`);
      assert.ok(v.rules.units.length === 1, `and the OU rule: ${JSON.stringify(v.rules)}`);
    });

    // A customer review: the customer's presentation profile, its pack of the
    // last closed month written to files, and presented as slides.
    let customer; // { name, path } of the profiled integration
    let basisWords = '';
    const DISPLAY = 'Acme Corp GmbH';
    const now = new Date();
    const lastMonth = firstOfMonth(now, 1).slice(0, 7);
    const lastMonthLabel = new Date(`${lastMonth}-01T00:00:00Z`).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });

    await step('presentation profile: display name, net unblended, credits and tax left out; the list states the basis', async () => {
      assert.ok(customers.length >= 2, 'the import made two customers or more');
      customer = customers.find((c) => /^Acme/.test(c.name)) ?? customers[0];
      await goto('nav-integrations', 'vi-new');
      assert.equal(
        await (await (await row(customer.name)).$(tid('vi-basis'))).getText(),
        'Unblended cost (as billed); nothing left out.',
        'before: the default basis',
      );
      await clickInRow(customer.name, 'vi-profile');
      await shown('profile');
      await (await browser.$(`${tid('profile-basis')}[data-key="net_unblended"]`)).waitForDisplayed({ timeout: WAIT, timeoutMsg: 'no net_unblended basis offered' });
      assert.equal(await (await el('profile-save')).isEnabled(), false, 'nothing to save before a change');
      await setValue('profile-display-name', DISPLAY);
      await (await browser.$(`${tid('profile-basis')}[data-key="net_unblended"]`)).click();
      for (const key of ['Credit', 'Tax']) {
        const box = await browser.$(`${tid('profile-exclude')}[data-key="${key}"]`);
        await box.scrollIntoView({ block: 'center' });
        await box.click();
        await until(async () => box.isSelected(), `Leave out ${key} is not ticked`);
      }
      assert.equal(await (await browser.$(`${tid('profile-basis')}[data-key="net_unblended"]`)).isSelected(), true);
      await shot('presentation-profile');
      await click('profile-save');
      await until(async () => !(await isShown('profile')), 'the profile dialog did not close after Save');
      const r = await row(customer.name);
      await until(async () => (await (await r.$(tid('vi-display-name'))).getText().catch(() => '')).includes(DISPLAY), `the row says it is shown as ${DISPLAY}`);
      basisWords = await (await r.$(tid('vi-basis'))).getText();
      assert.equal(basisWords, 'Net unblended cost (after discounts); credits and tax left out.', 'the row states the new basis in words');
      // The CLI reads the same profile from the workspace.
      const v = cli(['--workspace', DEMO, 'vi', 'show', customer.name, '--json'], { json: true });
      const p = findKey(v, 'profile');
      assert.ok(p, `vi show has the profile: ${JSON.stringify(v).slice(0, 400)}`);
      assert.equal(p.display_name, DISPLAY);
      assert.match(JSON.stringify(p.basis), /net_?unblended/i, `vi show: the basis ${JSON.stringify(p.basis)}`);
      assert.deepEqual([...p.exclude].sort(), ['Credit', 'Tax'], `vi show: left out ${JSON.stringify(p.exclude)}`);
      await shot('integrations-profiled');
      // The Costs screen shows this customer on that basis too.
      await clickInRow(customer.name, 'vi-costs');
      await until(async () => (await text('costs-basis').catch(() => '')) === basisWords, `costs-basis should say '${basisWords}'`);
    });

    await step('review pack: the estimate is said before making; the PDF, PNGs and CSVs are written; the PDF\'s first page', async () => {
      await goto('nav-integrations', 'vi-new');
      await clickInRow(customer.name, 'vi-review');
      await shown('review');
      const ready = () => browser.$(`${tid('review-estimate')}[data-ready="true"]`);
      await (await ready()).waitForDisplayed({ timeout: 2 * WAIT, timeoutMsg: 'no estimate was shown' });
      assert.match(await text('review-estimate-words'), /^Nothing: a local workspace/, 'a local pack spends nothing, and says so first');
      assert.match(await text('review-month-label'), new RegExp(`^${lastMonthLabel}`), `the default month is the last closed one, ${lastMonthLabel}`);
      // A month that is not one: said at once, nothing can be made.
      await setValue('review-month', '2026-13');
      await until(async () => /YYYY-MM/.test(await text('review-month-label')), 'a bad month is not explained');
      assert.equal(await (await el('review-make')).isEnabled(), false, 'no pack of a bad month');
      // Another month is estimated again; back to empty, the last closed month again.
      const earlier = firstOfMonth(now, 3).slice(0, 7);
      const earlierLabel = new Date(`${earlier}-01T00:00:00Z`).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
      await setValue('review-month', earlier);
      await until(async () => (await text('review-month-label')).startsWith(earlierLabel), `the label should become ${earlierLabel}`);
      await (await ready()).waitForDisplayed({ timeout: 2 * WAIT, timeoutMsg: `no estimate for ${earlier}` });
      await setValue('review-month', '');
      await until(async () => (await text('review-month-label')).startsWith(lastMonthLabel), `the label should be ${lastMonthLabel} again`);
      await (await ready()).waitForDisplayed({ timeout: 2 * WAIT, timeoutMsg: 'no estimate for the last closed month' });
      await shot('review-pack-estimate');
      const before = new Set(readdirSync(SAVE_DIR));
      await click('review-make');
      await shown('review-result', { timeout: 4 * WAIT });
      assert.equal(await text('review-dir'), SAVE_DIR, 'written into the folder chosen (COSTCARVE_SAVE_DIR answers the dialog)');
      const pdf = await (await el('review-pdf')).getAttribute('title');
      assert.equal(path.dirname(pdf), SAVE_DIR);
      assert.match(path.basename(pdf), new RegExp(`-${lastMonth}\\.pdf$`), `the PDF is named for the month: ${pdf}`);
      const stem = path.basename(pdf, '.pdf');
      const made = readdirSync(SAVE_DIR).filter((f) => !before.has(f) && f.startsWith(stem));
      const pngs = made.filter((f) => f.endsWith('.png'));
      const csvs = made.filter((f) => f.endsWith('.csv'));
      assert.ok(made.includes(`${stem}.pdf`), `${stem}.pdf is on disk: ${made.join(', ')}`);
      assert.deepEqual([...readFileSync(pdf).subarray(0, 5)], [...Buffer.from('%PDF-')], 'a PDF');
      assert.ok(pngs.length >= 2, `a PNG per chart (trend, daily): ${pngs.join(', ')}`);
      assert.ok(csvs.length >= 4, `a CSV per table (trend, services, movers, accounts): ${csvs.join(', ')}`);
      assert.equal(Number(await (await el('review-pngs')).getAttribute('data-count')), pngs.length, 'the dialog counts the PNGs on disk');
      assert.equal(Number(await (await el('review-csvs')).getAttribute('data-count')), csvs.length, 'the dialog counts the CSVs on disk');
      for (const f of pngs) {
        assert.deepEqual([...readFileSync(path.join(SAVE_DIR, f)).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${f} is a PNG`);
      }
      for (const f of csvs) assert.ok(readFileSync(path.join(SAVE_DIR, f), 'utf8').split('\n').length > 1, `${f} has a header and rows`);
      assert.match(await text('review-spent'), /^Nothing/, 'what it spent, in words');
      // No other customer in the files' names or in the CSVs.
      const others = otherIntegrations(customer.name);
      for (const f of csvs) {
        const body = readFileSync(path.join(SAVE_DIR, f), 'utf8');
        for (const o of others) assert.ok(!body.includes(o), `${f} names another integration, ${o}`);
      }
      await shot('review-pack-written');
      // The PDF's first page, as a picture beside the screenshots.
      shotNo += 1;
      const prefix = path.join(SHOTS, `${String(shotNo).padStart(2, '0')}-review-pack-page1`);
      execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', pdf, prefix], { stdio: ['ignore', 'ignore', 'pipe'] });
      assert.ok(existsSync(`${prefix}.png`) && statSync(`${prefix}.png`).size > 2000, `pdftoppm rendered page 1 to ${prefix}.png`);
      shotsTaken.push({ file: `${prefix}.png`, how: 'pdftoppm -r 80 (page 1 of the PDF)' });
      console.log(`screenshot: ${prefix}.png (the PDF's first page, pdftoppm)`);
      await click('review-close');
      await until(async () => !(await isShown('review')), 'the review dialog did not close');
    });

    await step('present: one click on the list; only this customer, its basis on every slide; arrows, clicks and Escape', async () => {
      await goto('nav-integrations', 'vi-new');
      const others = otherIntegrations(customer.name);
      assert.ok(others.length > 0, 'other integrations exist, to be kept off the slides');
      await clickInRow(customer.name, 'vi-present');
      const slide = await shown('slide', { timeout: 4 * WAIT });
      assert.equal(await slide.getAttribute('data-page'), 'cover');
      assert.equal(await text('slide-header'), `${DISPLAY} · ${lastMonthLabel}`, 'the header: display name · month');
      assert.equal(await text('slide-title'), DISPLAY, 'the cover is titled with the display name');
      const count = Number((await text('slide-count')).split('/')[1]);
      assert.ok(count >= 7, `the pack has its pages (cover … appendix): ${count}`);
      // Nothing else is on screen: no navigation, no picker, no path, no other customer, no working control.
      const onScreen = async () => {
        for (const id of ['nav-integrations', 'workspace-label', 'vi-row', 'vi-new', 'costs-integration', 'error']) {
          assert.equal(await isShown(id), false, `${tid(id)} is hidden while presenting`);
        }
        const seen = await browser.execute(() => {
          const visible = (e) => {
            const r = e.getBoundingClientRect();
            const st = getComputedStyle(e);
            return r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none';
          };
          return {
            text: document.body.innerText,
            controls: [...document.querySelectorAll('input, select, textarea, button, a[href], [contenteditable="true"]')]
              .filter(visible)
              .map((e) => e.dataset.testid || `${e.tagName.toLowerCase()}:${(e.textContent || '').trim().slice(0, 20)}`),
          };
        });
        assert.deepEqual([...seen.controls].sort(), ['present-stop', 'slide-next', 'slide-prev'], `only the slide controls: ${seen.controls.join(', ')}`);
        for (const o of others) assert.ok(!seen.text.includes(o), `another integration's name, '${o}', is on the slide`);
        assert.ok(!seen.text.includes(DEMO), 'the workspace path is on the slide');
        return seen.text;
      };
      // Every slide: this customer, the basis and the place in the footer.
      const pages = [];
      for (let i = 0; i < count; i++) {
        await until(async () => Number(await (await el('slide')).getAttribute('data-index')) === i, `slide ${i + 1} did not show`);
        const id = await (await el('slide')).getAttribute('data-page');
        pages.push(id);
        assert.equal(await text('slide-basis'), basisWords, `slide ${i + 1} (${id}) states the basis`);
        assert.equal(await text('slide-count'), `${i + 1} / ${count}`);
        assert.equal(await isShown('slide-estimated'), false, `a closed month is not marked Estimated (slide ${id})`);
        assert.match(await text('slide-header'), new RegExp(`^${DISPLAY} · `));
        await onScreen();
        if (id === 'cover') await shot('present-cover');
        if (id === 'trend') {
          await shown('slide-chart');
          assert.ok((await (await el('slide-chart')).getHTML()).includes('<svg'), 'the trend slide draws its chart');
          assert.ok((await els('slide-table')).length === 1, 'and its table');
          await shot('present-trend');
        }
        if (i === 0) {
          // Right goes on, Left comes back, neither goes past the ends.
          await browser.keys('ArrowLeft');
          await until(async () => Number(await (await el('slide')).getAttribute('data-index')) === 0, 'ArrowLeft on the cover stays there');
          await browser.keys('ArrowRight');
          await until(async () => Number(await (await el('slide')).getAttribute('data-index')) === 1, 'ArrowRight did not go to slide 2');
          await browser.keys('ArrowLeft');
          await until(async () => Number(await (await el('slide')).getAttribute('data-index')) === 0, 'ArrowLeft did not come back to the cover');
          // A click on the right half goes on, on the left half back.
          await (await el('slide')).click({ x: 300 });
          await until(async () => Number(await (await el('slide')).getAttribute('data-index')) === 1, 'a click on the right half did not go on');
          await (await el('slide')).click({ x: -300 });
          await until(async () => Number(await (await el('slide')).getAttribute('data-index')) === 0, 'a click on the left half did not go back');
        }
        if (i < count - 1) await browser.keys('ArrowRight');
      }
      assert.equal(pages[0], 'cover');
      assert.equal(pages[pages.length - 1], 'appendix');
      for (const id of ['total', 'trend', 'services', 'movers', 'accounts', 'daily']) assert.ok(pages.includes(id), `a ${id} slide: ${pages.join(', ')}`);
      // Past the last slide nothing moves.
      await browser.keys('ArrowRight');
      assert.equal(await text('slide-count'), `${count} / ${count}`);
      await browser.keys('Escape');
      await until(async () => !(await isShown('presenter')), 'Escape did not stop presenting');
      await shown('nav-integrations');
      await row(customer.name);
    });
  } finally {
    if (browser) await browser.deleteSession().catch(() => {});
    console.log(`screenshots (${shotsTaken.length}) in ${SHOTS}`);
  }
});
