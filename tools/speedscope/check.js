// SPDX-License-Identifier: MIT
// Does speedscope import these files? Asks speedscope itself: the npm
// package ships only its bundled browser app (the importers are not
// exported), so this drives that app in headless Chromium the way
// `speedscope FILE` does (index.html#localProfilePath= a script calling
// window.speedscope.loadFileFromBase64), waits for the app's verdict, and on
// success clicks the app's Export button and reads back the profiles it built
// (speedscope's own file format) to print what it imported.
//
// usage: node check.js FILE...      exit 0 only if every file imported cleanly
//
// A file fails when the app shows its error screen, alerts ("Unrecognized
// format!", "...but it's empty!"), times out, or its importer warns (e.g.
// "Tried to end ... when ... was on the top of the stack": spans that
// overlap on one thread). Folded files also fail when speedscope silently
// dropped lines: its collapsed-stack importer skips every line that is not
// "STACK WEIGHT", so the total weight it imported must be the file's.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const APP = path.join(__dirname, 'node_modules/speedscope/dist/release/index.html');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Per file; a trace of a few hundred thousand events takes seconds.
const TIMEOUT_MS = Number(process.env.SPEEDSCOPE_TIMEOUT_MS || 300000);
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Console noise that is not about the import.
const NOISE = [/^\[\.WebGL-/, /GL Driver Message/, /GPU stall/];

function appVersion() {
  const pkg = path.join(__dirname, 'node_modules/speedscope/package.json');
  return JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
}

// Load one file into a fresh page; resolves to { ok, reason, importer,
// warnings, exported }.
async function importFile(browser, file, tmpdir) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  const log = [];
  const warnings = [];
  let importer = null;
  let failure = null;

  page.on('console', msg => {
    const text = msg.text();
    if (NOISE.some(re => re.test(text)))
      return;
    log.push(`${msg.type()}: ${text}`);
    const m = /^Importing (?:as|from) (.*)$/.exec(text);
    if (m)
      importer = m[1];
    else if (msg.type() === 'warning')
      warnings.push(text);
    else if (/^Failed to load format/.test(text))
      failure = failure || `importer threw: ${text}`;
  });
  page.on('pageerror', err => { failure = failure || `page error: ${err.message}`; });
  page.on('dialog', dialog => {
    failure = failure || `speedscope says: ${dialog.message()}`;
    dialog.dismiss().catch(() => {});
  });

  // What the speedscope CLI writes: the file's name matters, speedscope picks
  // some importers by extension.
  const name = path.basename(file);
  const loader = path.join(tmpdir, `load-${Date.now()}-${Math.random().toString(36).slice(2)}.js`);
  const b64 = fs.readFileSync(file).toString('base64');
  fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ${JSON.stringify(b64)})`);

  const result = { ok: false, reason: null, importer: null, warnings, log, exported: null };
  try {
    // Not "load": that waits for the profile script, and the polling below
    // is what waits for the import.
    await page.goto(`file://${APP}#localProfilePath=${loader}`, { waitUntil: 'domcontentloaded' });
    const deadline = Date.now() + TIMEOUT_MS;
    let state = 'loading';
    while (Date.now() < deadline) {
      if (failure) { state = 'failed'; break; }
      state = await page.evaluate(() => {
        const body = document.body ? document.body.innerText : '';
        if (/Something went wrong/.test(body)) return 'error-screen';
        if (/ - speedscope$/.test(document.title)) return 'loaded';
        return 'loading';
      });
      if (state !== 'loading') break;
      await page.waitForTimeout(100);
    }
    if (failure) {
      result.reason = failure;
    } else if (state === 'error-screen') {
      result.reason = 'speedscope shows "Something went wrong" (its importer failed)';
    } else if (state !== 'loaded') {
      result.reason = `no verdict from speedscope within ${TIMEOUT_MS} ms`;
    } else {
      // Export through the app: its own serialization of what it imported.
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: TIMEOUT_MS }),
        page.getByText('Export').first().click(),
      ]);
      const out = path.join(tmpdir, 'export.speedscope.json');
      await download.saveAs(out);
      result.exported = JSON.parse(fs.readFileSync(out, 'utf8'));
      if (failure)
        result.reason = failure;
      else if (warnings.length)
        result.reason = `speedscope's importer warned ${warnings.length} time(s), first: ${warnings[0]}`;
      else
        result.ok = true;
    }
  } finally {
    result.importer = importer;
    fs.rmSync(loader, { force: true });
    await context.close();
  }
  return result;
}

// Folded input: lines speedscope's "STACK WEIGHT" rule skips, and the total
// weight of the lines it keeps.
function foldedStats(file) {
  let skipped = 0, total = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim())
      continue;
    const m = /^.* (\d+)$/.exec(line);
    if (m)
      total += Number(m[1]);
    else
      skipped++;
  }
  return { skipped, total };
}

function foldedProblem(file, exported) {
  const { skipped, total } = foldedStats(file);
  const imported = exported.profiles.reduce((sum, p) => sum + (p.endValue - p.startValue), 0);
  if (skipped)
    return `speedscope skipped ${skipped} line(s) that are not "STACK WEIGHT"`;
  if (imported !== total)
    return `speedscope imported a total weight of ${imported}, the file has ${total}`;
  return null;
}

// One line per profile: name, kind, samples or events, frames, total weight.
function describe(exported) {
  const frames = exported.shared.frames;
  const lines = [];
  for (const p of exported.profiles) {
    const used = new Set();
    let count;
    if (p.type === 'sampled') {
      for (const s of p.samples)
        for (const f of s) used.add(f);
      count = `${p.samples.length} samples`;
    } else {
      for (const e of p.events) used.add(e.frame);
      count = `${p.events.length / 2} spans`;
    }
    lines.push(`    profile ${JSON.stringify(p.name)}: ${p.type}, ${count}, ` +
               `${used.size} frames, total ${p.endValue - p.startValue} ${p.unit}`);
  }
  return [`  ${exported.profiles.length} profile(s), ${frames.length} distinct frames`, ...lines];
}

async function main() {
  const files = process.argv.slice(2);
  if (!files.length || files.includes('-h') || files.includes('--help')) {
    console.error('usage: node check.js FILE...   (folded stacks, Chrome trace JSON, ...)');
    process.exit(2);
  }
  for (const f of files) {
    if (!fs.existsSync(f)) {
      console.error(`${f}: no such file`);
      process.exit(2);
    }
  }
  const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'speedscope-check-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  let failed = 0;
  try {
    console.log(`speedscope ${appVersion()} (bundled app), ${browser.version()}`);
    for (const f of files) {
      const r = await importFile(browser, f, tmpdir);
      const how = r.importer ? ` as ${r.importer}` : '';
      if (r.ok && /collapsed stack/.test(r.importer || '')) {
        r.reason = foldedProblem(f, r.exported);
        r.ok = !r.reason;
      }
      if (r.ok) {
        console.log(`OK   ${f}: imported${how}`);
        for (const line of describe(r.exported))
          console.log(line);
      } else {
        failed++;
        console.log(`FAIL ${f}: ${r.reason}${how ? ` (tried${how})` : ''}`);
        for (const w of r.warnings.slice(0, 5))
          console.log(`  warning: ${w}`);
        if (r.warnings.length > 5)
          console.log(`  ... ${r.warnings.length - 5} more warnings`);
        if (process.env.VERBOSE)
          for (const line of r.log)
            console.log(`  console ${line}`);
      }
    }
  } finally {
    await browser.close();
    fs.rmSync(tmpdir, { recursive: true, force: true });
  }
  console.log(failed ? `${failed} of ${files.length} file(s) FAILED to import` :
                       `all ${files.length} file(s) imported`);
  process.exit(failed ? 1 : 0);
}

main().catch(err => {
  console.error(`check.js: ${err.stack || err}`);
  process.exit(2);
});
