// End-to-end test of the packaged tfguard extension in real VS Code (code-server), driven by
// headless Chromium through playwright-core. Run it with scripts/e2e-vscode.sh, which installs the
// dependencies into the cache, packages the .vsix and sets the environment below.
//
// Environment:
//   TFGUARD_E2E_CACHE    folder with app/node_modules (code-server, playwright-core)   [required]
//   TFGUARD_E2E_VSIX     the packaged extension                                         [required]
//   TFGUARD_E2E_WHEELHOUSE  folder of the locked dependency wheels (tfguard.wheelhouse)  [required]
//   TFGUARD_E2E_OUT      where screenshots and logs go (default CACHE/out)
//   TFGUARD_E2E_DOC_IMAGE  copy the representative screenshot here (optional)
//   TFGUARD_E2E_CHROMIUM browser binary (default /usr/bin/chromium)
//   TFGUARD_E2E_TIMEOUT_MS  per-step timeout (default 90000)
//
// Scenario 1, a new user: a fresh profile with nothing preset but tfguard.wheelhouse (the offline
// wheel folder, so pip never contacts an index) and no tfguard on PATH. The install notification
// appears; the test clicks "Install into private environment"; the private environment is created
// in global storage from the wheel bundled in the .vsix with hash-pinned dependencies; squiggles
// appear in prod/main.tf without a reload; the status item and the Findings view show the counts of
// the Problems panel without any tfguard command having run.
// Then, in the same window: ranked findings in the Problems panel with the right severities
// (the public bucket's CKV_AWS_20 is CRITICAL in prod, HIGH in its dev twin: both errors, issue #18's
// exposure ranking), the hover of a finding (check id + checkov:skip), the tfguard Findings view
// (groups with counts, prod CKV_AWS_20 among the CRITICAL ones, its dev twin among the HIGH ones;
// a click opens the location), the status bar counts, and that the lightbulb's "Fix CKV_AWS_20"
// quick fix removes that finding.
// Scenario 2: tfguard.catalogue and tfguard.policyDirs written to the workspace settings add the
// catalogue's TFG_MOD_1 and the organisation policy's ACME_AWS_1 (absent before).
// Scenario 3: a two-folder workspace; folder alpha sets tfguard.minimumSeverity HIGH and its
// .tfguard.yaml raises CKV_AWS_20 to CRITICAL, beta's lowers it to LOW: each folder shows its own.
// Scenario 4: Restricted Mode (workspace trust on, folder not trusted): findings still shown, the
// status item says Restricted Mode, and the workspace's tfguard.policyDirs is ignored.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const env = (name, fallback) => {
    const v = process.env[name];
    if (v) return v;
    if (fallback === undefined) throw new Error(`${name} is not set (run scripts/e2e-vscode.sh)`);
    return fallback;
};
const cache = path.resolve(env('TFGUARD_E2E_CACHE'));
const vsix = path.resolve(env('TFGUARD_E2E_VSIX'));
const wheelhouse = path.resolve(env('TFGUARD_E2E_WHEELHOUSE'));
const outDir = path.resolve(env('TFGUARD_E2E_OUT', path.join(cache, 'out')));
const docImage = process.env.TFGUARD_E2E_DOC_IMAGE;
const chromium = env('TFGUARD_E2E_CHROMIUM', '/usr/bin/chromium');
const STEP = Number(env('TFGUARD_E2E_TIMEOUT_MS', '90000'));

const appRequire = createRequire(path.join(cache, 'app', 'package.json'));
const { chromium: pwChromium } = appRequire('playwright-core');
const codeServerEntry = path.join(cache, 'app', 'node_modules', 'code-server', 'out', 'node', 'entry.js');

const t0 = Date.now();
const log = (msg) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const results = [];
function check(name, ok, detail = '') {
    results.push({ name, ok, detail });
    log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
    return ok;
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

async function waitFor(fn, what, timeout = STEP, interval = 250) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
        try {
            last = await fn();
            if (last) return last;
        } catch (e) {
            last = e;
        }
        await new Promise((r) => setTimeout(r, interval));
    }
    throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

// ------------------------------------------------------------------ set-up
fs.mkdirSync(outDir, { recursive: true });
for (const f of fs.readdirSync(outDir)) {
    if (f.endsWith('.png') || f.endsWith('.log') || f.endsWith('.txt') || f.endsWith('.json')) fs.rmSync(path.join(outDir, f));
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfguard-e2e-'));
// One profile for every scenario: the private environment the first one installs stays in its
// global storage, as it would for a user.
const userData = path.join(tmp, 'user-data');
const extDir = path.join(tmp, 'extensions');
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.mkdirSync(extDir, { recursive: true });
const baseUserSettings = {
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'update.mode': 'none',
    'telemetry.telemetryLevel': 'off',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'window.restoreWindows': 'none',
    'editor.hover.delay': 300,
    'editor.lightbulb.enabled': 'on',
    'problems.sortOrder': 'severity',
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
};
function writeUserSettings(extra = {}) {
    fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...baseUserSettings, ...extra }, null, 2));
}
writeUserSettings();
// Nothing tfguard-specific is preset but the offline wheel folder. It is a machine setting: in
// code-server (a remote window) VS Code reads it from <user-data-dir>/Machine/settings.json.
fs.mkdirSync(path.join(userData, 'Machine'), { recursive: true });
fs.writeFileSync(path.join(userData, 'Machine', 'settings.json'), JSON.stringify({ 'tfguard.wheelhouse': wheelhouse }, null, 2));

function copyFixture(name, dest) {
    const to = path.join(tmp, dest);
    fs.cpSync(path.join(repo, 'tests', 'fixtures', name), to, { recursive: true });
    return to;
}

const csEnv = { ...process.env, VSCODE_CLI_DISABLE_UPDATES: '1' };
let codeServer;
let context;
let page;
let session = 0;

async function shot(name) {
    const file = path.join(outDir, `${name}.png`);
    try {
        await page.screenshot({ path: file });
        log(`screenshot ${file}`);
    } catch (e) {
        log(`screenshot ${name} failed: ${e.message}`);
    }
    return file;
}

function stopCodeServer() {
    if (codeServer && codeServer.exitCode === null && codeServer.pid) {
        try {
            process.kill(-codeServer.pid, 'SIGTERM'); // its own process group (detached): extension host and tfguard too
        } catch { /* already gone */ }
    }
}
process.on('exit', stopCodeServer);
for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => { stopCodeServer(); process.exit(130); });
}

/** Start code-server on `target` (a folder, or a .code-workspace file) and open it in Chromium. */
async function openSession(target, { trust = false } = {}) {
    session += 1;
    const port = await freePort();
    const csLog = fs.createWriteStream(path.join(outDir, `code-server-${session}.log`));
    codeServer = spawn(process.execPath, [codeServerEntry,
        '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
        ...(trust ? [] : ['--disable-workspace-trust']), '--user-data-dir', userData, '--extensions-dir', extDir, target,
    ], { env: csEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    codeServer.stdout.pipe(csLog);
    codeServer.stderr.pipe(csLog);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 'code-server /healthz', 60_000);
    log(`code-server up on ${base} (pid ${codeServer.pid}) for ${target}`);
    context = await pwChromium.launchPersistentContext(path.join(tmp, `browser-${session}`), {
        executablePath: chromium,
        headless: true,
        viewport: { width: 1600, height: 1000 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(STEP);
    const consoleLog = fs.createWriteStream(path.join(outDir, `browser-console-${session}.log`));
    page.on('console', (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));
    const query = target.endsWith('.code-workspace') ? `workspace=${encodeURIComponent(target)}` : `folder=${encodeURIComponent(target)}`;
    await page.goto(`${base}/?${query}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: STEP });
    await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: STEP });
    log('workbench loaded');
}

async function closeSession() {
    await context?.close().catch(() => {});
    context = undefined;
    const cs = codeServer;
    stopCodeServer();
    if (cs && cs.exitCode === null) {
        await new Promise((r) => { cs.once('exit', r); setTimeout(r, 5000); });
    }
    codeServer = undefined;
}

// Keyboard helpers: the workbench must have focus for its keybindings.
const mod = 'Control';
async function runCommand(title) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: STEP });
    await input.fill(`>${title}`);
    await page.locator('.quick-input-widget .monaco-list-row').first().waitFor({ timeout: STEP });
    await waitFor(async () => (await page.locator('.quick-input-widget .monaco-list-row').first().innerText()).includes(title.split(': ').pop()), `command "${title}" in the palette`);
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STEP });
}

async function openFile(rel) {
    await page.keyboard.press(`${mod}+P`);
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: STEP });
    await input.fill(rel);
    await waitFor(async () => {
        const t = await page.locator('.quick-input-widget .monaco-list-row').first().getAttribute('aria-label');
        return t && t.includes(path.basename(rel)) && t.includes(path.dirname(rel));
    }, `${rel} in quick open`);
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STEP });
    const [dir, file] = [path.dirname(rel), path.basename(rel)];
    await waitFor(async () => {
        const crumbs = (await page.locator('.editor-group-container.active .monaco-breadcrumbs').first().innerText()).replace(/\s+/g, ' ');
        return crumbs.includes(dir) && crumbs.includes(file);
    }, `${rel} to be the active editor`);
}

async function goToLine(line, column) {
    await page.keyboard.press(`${mod}+G`);
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: STEP });
    await input.fill(`:${line}:${column}`); // Ctrl+G opens quick open with the ":" (go to line) prefix
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STEP });
}

/** Rows of the Problems panel: aria-label (has the severity word) and text. */
async function problemRows() {
    return page.locator('.markers-panel .monaco-list-row').evaluateAll((rows) => rows.map((r) => ({
        label: r.getAttribute('aria-label') ?? '',
        text: r.innerText.replace(/\s+/g, ' ').trim(),
        level: Number(r.getAttribute('aria-level') ?? '0'),
        icon: r.querySelector('.codicon-error') ? 'error' : r.querySelector('.codicon-warning') ? 'warning'
            : r.querySelector('.codicon-info') ? 'info' : '',
    })));
}

async function setProblemsFilter(text) {
    const filter = page.locator('.markers-panel-action-filter input, .viewpane-filter input').first();
    await filter.waitFor({ state: 'visible', timeout: STEP });
    await filter.fill(text);
    await page.waitForTimeout(600); // the filter is debounced
}

/** Groups the Problems panel into { file: [rows] } with the severity of each row. */
function groupProblems(rows) {
    const files = [];
    for (const r of rows) {
        if (r.level === 1) files.push({ file: r.text, rows: [] });
        else if (files.length) files[files.length - 1].rows.push(r);
    }
    return files;
}

function severityOf(row) {
    if (row.icon) return row.icon;
    const m = /^(Error|Warning|Info)/i.exec(row.label);
    return m ? m[1].toLowerCase().replace('info', 'info') : '';
}


/** The tfguard status bar item's text. */
async function tfguardStatus() {
    const texts = await page.locator('.statusbar-item').allInnerTexts();
    return texts.find((t) => /tfguard/.test(t)) ?? '';
}

/** Counts by severity in the tfguard status item ("1 CRITICAL · 2 HIGH"). */
function statusCounts(text) {
    const counts = {};
    for (const m of text.matchAll(/(\d+) (CRITICAL|HIGH|MEDIUM|LOW|INFO)/g)) counts[m[2]] = Number(m[1]);
    return counts;
}

/** Total of the Problems panel (the badge on its tab, else the problems status item). */
async function problemsTotal() {
    const label = await page.locator('#status\\.problems').first().getAttribute('aria-label').catch(() => null)
        ?? await page.locator('#status\\.problems').first().innerText().catch(() => '');
    const nums = [...String(label).matchAll(/(\d+)/g)].map((m) => Number(m[1]));
    return { total: nums.reduce((a, b) => a + b, 0), label: String(label).replace(/\s+/g, ' ') };
}

/** Rows "label | description" of the tfguard Findings view, expanding it by a click on its header if needed. */
async function findingsViewRows() {
    const pane = page.locator('.pane').filter({ has: page.locator('.pane-header', { hasText: /tfguard Findings/i }) }).first();
    await pane.waitFor({ state: 'visible', timeout: STEP });
    const header = pane.locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded', { timeout: 2000 }).catch(() => null)) === 'false') await header.click();
    // The tree is virtualised: only rows on screen exist. Collapse the folders pane above it (a
    // click on its header) so that the Findings view has the height to show every row.
    const folders = page.locator('.part.sidebar .pane-header').first(); // the Explorer's first view: the folders
    const isFindings = /tfguard Findings/i.test(await folders.innerText({ timeout: 2000 }).catch(() => 'tfguard Findings'));
    if (!isFindings && (await folders.getAttribute('aria-expanded', { timeout: 2000 }).catch(() => null)) === 'true') {
        await folders.click();
    }
    return pane.locator('.monaco-list-row').evaluateAll((rs) => rs.map((r) => [
        r.querySelector('.label-name')?.textContent ?? r.innerText, r.querySelector('.label-description')?.textContent ?? '',
    ].map((t) => t.replace(/\s+/g, ' ').trim()).join(' | ')));
}

function groupCounts(rows) {
    const out = {};
    for (const r of rows) {
        const m = /^(CRITICAL|HIGH|MEDIUM|LOW|INFO) \| (\d+)$/.exec(r);
        if (m) out[m[1]] = Number(m[2]);
    }
    return out;
}

const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);

/** Problems panel rows of the file groups whose header matches `fileRe`, for a filter text. */
async function problemsFor(filter, fileRe, present = true) {
    await setProblemsFilter(filter);
    return waitFor(async () => {
        const g = groupProblems(await problemRows());
        const hit = g.filter((f) => fileRe.test(f.file));
        return present ? (hit.length && hit.every((f) => f.rows.length > 0) ? g : undefined) : (hit.length === 0 ? g : undefined);
    }, `${filter} ${present ? 'in' : 'absent from'} the Problems panel for ${fileRe}`);
}
// ------------------------------------------------------------------- run
let failed = false;
try {
    log(`installing ${vsix} into a fresh extensions dir`);
    const inst = spawnSync(process.execPath, [codeServerEntry, '--user-data-dir', userData, '--extensions-dir', extDir,
        '--install-extension', vsix], { env: csEnv, encoding: 'utf8' });
    fs.writeFileSync(path.join(outDir, 'install-extension.log'), `${inst.stdout}\n${inst.stderr}`);
    if (inst.status !== 0 || !fs.readdirSync(extDir).some((d) => d.startsWith('tfguard.tfguard'))) {
        throw new Error(`--install-extension failed (${inst.status}): ${inst.stderr || inst.stdout}`);
    }
    check('the .vsix installs into code-server', true, fs.readdirSync(extDir).filter((d) => d.startsWith('tfguard')).join(', '));
    const extRoot = path.join(extDir, fs.readdirSync(extDir).find((d) => d.startsWith('tfguard.tfguard')));
    check('the .vsix carries the tfguard wheel and the hash-pinned requirements',
        fs.readdirSync(path.join(extRoot, 'client', 'server')).some((f) => /^tfguard-.*\.whl$/.test(f))
        && /--hash=sha256:/.test(fs.readFileSync(path.join(extRoot, 'client', 'server', 'requirements.txt'), 'utf8')),
        fs.readdirSync(path.join(extRoot, 'client', 'server')).join(', '));

    // ================= scenario 1: a new user
    const workspace = copyFixture('e2e', 'workspace');
    await openSession(workspace);
    await openFile('prod/main.tf');
    const mode = await page.locator('#status\\.editor\\.mode').innerText().catch(() => '');
    check('prod/main.tf opens as Terraform', /terraform/i.test(mode), `language status "${mode.trim()}"`);
    const offer = page.locator('.notification-toast').filter({ hasText: /tfguard needs its language server/ }).first();
    await offer.waitFor({ state: 'visible', timeout: STEP });
    const installButton = offer.locator('.monaco-button', { hasText: 'Install into private environment' }).first();
    await installButton.waitFor({ state: 'visible', timeout: STEP });
    check('new user: the install notification offers "Install into private environment"', true,
        (await offer.innerText()).replace(/\s+/g, ' ').slice(0, 160));
    await shot('01-new-user-install-offer');
    const tInstall = Date.now();
    await installButton.click();
    await page.locator('.notification-toast').filter({ hasText: /Installing tfguard|Creating a private Python environment/ }).first()
        .waitFor({ state: 'visible', timeout: STEP });
    await shot('02-new-user-installing');
    // Squiggles without a reload: the install starts the server itself.
    await waitFor(async () => (await page.locator('.monaco-editor .squiggly-error').count()) > 0,
        'error squiggles in prod/main.tf after the install', 300_000, 500);
    check('new user: squiggles appear in prod/main.tf after the install, without a reload', true,
        `${((Date.now() - tInstall) / 1000).toFixed(0)} s after the click`);
    const venvPython = path.join(userData, 'User', 'globalStorage', 'tfguard.tfguard', 'venv', 'bin', 'python');
    const probe = spawnSync(venvPython, ['-c', 'import json, importlib.metadata as m; d = m.distribution("tfguard"); '
        + 'print(json.dumps({"version": d.version, "direct_url": d.read_text("direct_url.json"), "hcl2": [x.metadata["Name"] for x in m.distributions() if "hcl2" in x.metadata["Name"].lower()]}))'], { encoding: 'utf8' });
    let info = {};
    try { info = JSON.parse(probe.stdout); } catch { /* reported below */ }
    check('new user: the private environment (global storage) has the bundled wheel, and only bc-python-hcl2',
        probe.status === 0 && String(info.direct_url ?? '').includes(extRoot) && /\.whl/.test(String(info.direct_url))
        && JSON.stringify(info.hcl2) === '["bc-python-hcl2"]',
        `${venvPython}: ${probe.stdout.trim() || probe.stderr.trim()}`);
    // The status item and the Findings view follow the diagnostics VS Code pulled: no tfguard command has run.
    const agree = await waitFor(async () => {
        const status = await tfguardStatus();
        const p = await problemsTotal();
        const rows = await findingsViewRows();
        const s = statusCounts(status);
        const v = groupCounts(rows);
        return p.total > 0 && sum(s) === p.total && sum(v) === p.total && JSON.stringify(s) === JSON.stringify(v)
            ? { status, problems: p, view: v } : undefined;
    }, 'the status item and the Findings view to show the Problems panel counts', STEP).catch(async (e) => ({
        error: e.message, status: await tfguardStatus(), problems: await problemsTotal(), view: groupCounts(await findingsViewRows()),
    }));
    check('new user: status item and Findings view show the Problems panel counts without any command',
        !agree.error, JSON.stringify(agree));
    await shot('03-new-user-status-findings-problems');

    // ---- dev twin: the same public bucket is HIGH there (exposure +1, dev -1): still an error
    await openFile('dev/main.tf');
    await waitFor(async () => (await page.locator('.monaco-editor .squiggly-error').count()) > 0, 'an error squiggle in dev/main.tf');
    const devSquiggles = {
        error: await page.locator('.monaco-editor .squiggly-error').count(),
        warning: await page.locator('.monaco-editor .squiggly-warning').count(),
        info: await page.locator('.monaco-editor .squiggly-info').count(),
    };
    check('dev/main.tf has error squiggles (its exposed bucket and open SSH are HIGH there)',
        devSquiggles.error > 0, JSON.stringify(devSquiggles));

    // ---- Problems panel
    await page.keyboard.press(`${mod}+Shift+M`);
    await page.locator('.markers-panel').waitFor({ state: 'visible', timeout: STEP });
    await setProblemsFilter('CKV_AWS_20');
    const rows20 = await waitFor(async () => {
        const g = groupProblems(await problemRows());
        return g.length >= 2 && g.every((f) => f.rows.length > 0) ? g : undefined;
    }, 'CKV_AWS_20 in both files in the Problems panel');
    fs.writeFileSync(path.join(outDir, 'problems-CKV_AWS_20.txt'), JSON.stringify(rows20, null, 2));
    const prodGroup = rows20.find((g) => /prod/.test(g.file));
    const devGroup = rows20.find((g) => /dev/.test(g.file));
    const prodSev = prodGroup?.rows.map(severityOf);
    const devSev = devGroup?.rows.map(severityOf);
    check('Problems: prod CKV_AWS_20 is an error (CRITICAL), dev CKV_AWS_20 an error too (HIGH)',
        prodSev?.join() === 'error' && devSev?.join() === 'error',
        `prod=${prodSev} dev=${devSev}; ${prodGroup?.rows[0]?.text}`);
    await setProblemsFilter('');
    const all = await waitFor(async () => {
        const g = groupProblems(await problemRows());
        return g.length >= 2 ? g : undefined;
    }, 'both files in the Problems panel');
    fs.writeFileSync(path.join(outDir, 'problems-all.txt'), JSON.stringify(all, null, 2));
    const prodRows = all.find((g) => /prod/.test(g.file))?.rows ?? [];
    const order = { error: 0, warning: 1, info: 2, '': 3 };
    const sevs = prodRows.map(severityOf);
    const sorted = sevs.every((s, i) => i === 0 || order[sevs[i - 1]] <= order[s]);
    check('Problems: prod findings ranked by severity, tfguard check ids shown',
        prodRows.length >= 3 && sorted && sevs[0] === 'error' && prodRows.every((r) => /CKV2?_[A-Z]+_\d+/.test(r.text)),
        `${prodRows.length} rows: ${sevs.join(' ')}`);

    // ---- hover on the CKV_AWS_20 finding (acl = "public-read", line 4)
    await openFile('prod/main.tf');
    await goToLine(4, 5);
    await page.keyboard.press(`${mod}+K`);
    await page.keyboard.press(`${mod}+I`);
    const hover = page.locator('.monaco-hover:visible').first();
    const hoverText = await waitFor(async () => {
        const t = await hover.innerText().catch(() => '');
        return t.includes('CKV_AWS_20') && t.includes('checkov:skip') ? t : undefined;
    }, 'the hover of CKV_AWS_20');
    fs.writeFileSync(path.join(outDir, 'hover.txt'), hoverText);
    check('hover names the check and how to suppress it', true, hoverText.split('\n').slice(0, 2).join(' | '));

    // ---- the tfguard Findings view
    await runCommand('tfguard: Show Findings');
    const pane = page.locator('.pane').filter({ has: page.locator('.pane-header', { hasText: /tfguard Findings/i }) }).first();
    await pane.waitFor({ state: 'visible', timeout: STEP });
    const viewRows = await waitFor(async () => {
        // "label | description" of each row, e.g. "CRITICAL | 1", "CKV_AWS_20 aws_s3_bucket.assets | prod/main.tf:4".
        const rows = await pane.locator('.monaco-list-row').evaluateAll((rs) => rs.map((r) => [
            r.querySelector('.label-name')?.textContent ?? r.innerText, r.querySelector('.label-description')?.textContent ?? '',
        ].map((t) => t.replace(/\s+/g, ' ').trim()).join(' | ')));
        return rows.some((r) => /CKV_AWS_20/.test(r)) && rows.some((r) => /^(CRITICAL|HIGH) \| \d+$/.test(r)) ? rows : undefined;
    }, 'findings in the tfguard Findings view');
    fs.writeFileSync(path.join(outDir, 'findings-view.txt'), viewRows.join('\n'));
    const groups = viewRows.filter((r) => /^(CRITICAL|HIGH|MEDIUM|LOW|INFO) \| \d+$/.test(r));
    const firstFinding = viewRows.find((r) => /^CKV/.test(r)) ?? '';
    const inGroup = (sev, row) => { // the rows under the severity group `sev`, up to the next group
        const at = viewRows.findIndex((r) => r.startsWith(`${sev} | `));
        const next = viewRows.findIndex((r, i) => i > at && /^(CRITICAL|HIGH|MEDIUM|LOW|INFO) \| \d+$/.test(r));
        return at >= 0 && viewRows.slice(at + 1, next < 0 ? undefined : next).includes(row);
    };
    check('Findings view: severity groups with counts, highest first, prod CKV_AWS_20 CRITICAL, its dev twin HIGH',
        groups.length >= 2 && /^CRITICAL/.test(groups[0]) && /\| prod\/main\.tf:\d+$/.test(firstFinding)
        && inGroup('CRITICAL', 'CKV_AWS_20 aws_s3_bucket.assets | prod/main.tf:4')
        && inGroup('HIGH', 'CKV_AWS_20 aws_s3_bucket.assets | dev/main.tf:4'),
        `groups [${groups.join(', ')}]; first "${firstFinding}"`);
    // Clicking a finding opens its location (from another editor).
    await openFile('dev/main.tf');
    await pane.locator('.monaco-list-row').filter({ hasText: 'CKV_AWS_20' }).first().click();
    const where = await waitFor(async () => {
        const crumbs = await page.locator('.editor-group-container.active .monaco-breadcrumbs').first().innerText();
        const sel = await page.locator('#status\\.editor\\.selection').innerText().catch(() => '');
        // Opened at the finding, its range selected ("Ln 4, Col 25 (22 selected)").
        return /prod/.test(crumbs) && /Ln 4, Col \d+/.test(sel) ? `${crumbs.replace(/\s+/g, ' ')} ${sel}` : undefined;
    }, 'a click on the finding to open prod/main.tf at line 4');
    check('Findings view: clicking a finding opens its location', true, where);
    // The status bar item counts findings by severity.
    const status = await waitFor(async () => {
        const texts = await page.locator('.statusbar-item').allInnerTexts();
        return texts.find((t) => /tfguard: .*\d+ CRITICAL/.test(t));
    }, 'the tfguard status bar item with counts');
    check('status bar: counts by severity', statusCounts(status).CRITICAL > 0 && statusCounts(status).HIGH > 0, status.trim());
    // After the full (graph) pass too, the status item counts what the Problems panel counts.
    const agreeLater = await waitFor(async () => {
        const p = await problemsTotal();
        const st = await tfguardStatus();
        return sum(statusCounts(st)) === p.total && p.total > 0 ? `${st.trim()} = ${p.label}` : undefined;
    }, 'the status item to count what the Problems panel counts').catch((e) => e.message);
    check('status item and Problems panel agree after the full pass', /=/.test(agreeLater), agreeLater);
    // Representative screenshot: findings view, squiggles, Problems panel and the hover.
    await openFile('prod/main.tf');
    await goToLine(4, 5);
    await page.keyboard.press(`${mod}+K`);
    await page.keyboard.press(`${mod}+I`);
    await waitFor(async () => (await hover.innerText().catch(() => '')).includes('CKV_AWS_20'), 'the hover again');
    const representative = await shot('04-findings-problems-hover');
    await page.keyboard.press('Escape');

    // ---- quick fix from the lightbulb: Ctrl+. on line 4, choose "Fix CKV_AWS_20"
    await goToLine(4, 5);
    await page.keyboard.press(`${mod}+.`);
    const menu = page.locator('.action-widget, .context-view .monaco-list').first();
    await menu.waitFor({ state: 'visible', timeout: STEP });
    const item = page.locator('.action-widget .monaco-list-row, .context-view .monaco-list-row').filter({ hasText: /Fix CKV_AWS_20/ }).first();
    await item.waitFor({ state: 'visible', timeout: STEP });
    const itemText = (await item.innerText()).trim();
    await shot('05-quick-fix-menu');
    await item.click();
    await menu.waitFor({ state: 'hidden', timeout: STEP });
    log(`applied quick fix "${itemText}"`);
    await page.keyboard.press(`${mod}+S`);
    await setProblemsFilter('CKV_AWS_20');
    const after = await waitFor(async () => {
        const g = groupProblems(await problemRows());
        return !g.some((f) => /prod/.test(f.file)) && g.some((f) => /dev/.test(f.file)) ? g : undefined;
    }, 'prod CKV_AWS_20 to leave the Problems panel');
    check('quick fix removes prod CKV_AWS_20 from the Problems panel (dev twin stays)', true,
        `remaining: ${after.map((g) => `${g.file} ×${g.rows.length}`).join('; ')}`);
    const prodFile = path.join(workspace, 'prod', 'main.tf');
    const fixedText = await waitFor(() => {
        const text = fs.readFileSync(prodFile, 'utf8');
        return /acl\s*=\s*"public-read"/.test(text) ? undefined : text;
    }, 'the saved prod/main.tf without the public-read ACL', 15_000).catch(() => fs.readFileSync(prodFile, 'utf8'));
    check('the fix edited the file (saved with Ctrl+S)', !/acl\s*=\s*"public-read"/.test(fixedText),
        fixedText.split('\n')[3]?.trim());
    await shot('06-after-quick-fix');

    await closeSession();

    // ================= scenario 2: tfguard.catalogue and tfguard.policyDirs in workspace settings
    const ws2 = copyFixture('e2e-settings', 'settings-ws');
    await openSession(ws2);
    await openFile('infra/main.tf');
    await waitFor(async () => (await page.locator('.monaco-editor .squiggly-error').count()) > 0, 'squiggles in infra/main.tf');
    await page.keyboard.press(`${mod}+Shift+M`);
    await page.locator('.markers-panel').waitFor({ state: 'visible', timeout: STEP });
    await problemsFor('CKV_AWS_20', /main\.tf/);
    await problemsFor('CKV2_AWS_6', /main\.tf/); // a graph check: the full (Checkov) pass has run, policies included
    await problemsFor('TFG_MOD_1', /main\.tf/, false);
    await problemsFor('ACME_AWS_1', /main\.tf/, false);
    check('settings: without tfguard.catalogue / tfguard.policyDirs, no TFG_MOD_1 and no ACME_AWS_1', true);
    fs.mkdirSync(path.join(ws2, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(ws2, '.vscode', 'settings.json'), JSON.stringify({
        'tfguard.catalogue': 'approved-modules.yaml',
        'tfguard.policyDirs': ['${workspaceFolder}/org-policies'],
    }, null, 2));
    await problemsFor('TFG_MOD_1', /main\.tf/);
    await problemsFor('ACME_AWS_1', /main\.tf/);
    check('settings: tfguard.catalogue adds TFG_MOD_1, tfguard.policyDirs adds ACME_AWS_1 (workspace settings)', true);
    await setProblemsFilter('');
    await shot('07-settings-catalogue-policydirs');
    await closeSession();

    // ================= scenario 3: two folders, each with its own settings and .tfguard.yaml
    const ws3 = copyFixture('e2e-multiroot', 'multiroot');
    await openSession(path.join(ws3, 'two-folders.code-workspace'));
    await openFile('alpha/main.tf');
    await waitFor(async () => (await page.locator('.monaco-editor .squiggly-error').count()) > 0, 'squiggles in alpha/main.tf');
    await openFile('beta/main.tf');
    await waitFor(async () => (await page.locator('.monaco-editor .squiggly-info, .monaco-editor .squiggly-warning').count()) > 0, 'squiggles in beta/main.tf');
    await page.keyboard.press(`${mod}+Shift+M`);
    await page.locator('.markers-panel').waitFor({ state: 'visible', timeout: STEP });
    const mr = await problemsFor('CKV_AWS_20', /main\.tf/);
    await waitFor(async () => groupProblems(await problemRows()).length >= 2, 'CKV_AWS_20 in both folders');
    const g20 = groupProblems(await problemRows());
    fs.writeFileSync(path.join(outDir, 'multiroot-CKV_AWS_20.txt'), JSON.stringify(g20, null, 2));
    const alpha20 = g20.find((g) => /alpha/.test(g.file))?.rows.map(severityOf).join();
    const beta20 = g20.find((g) => /beta/.test(g.file))?.rows.map(severityOf).join();
    check('multi-root: CKV_AWS_20 is an error in alpha (CRITICAL) and information in beta (LOW), each its own .tfguard.yaml',
        alpha20 === 'error' && beta20 === 'info', `alpha=${alpha20} beta=${beta20} (${mr.length} groups)`);
    await setProblemsFilter('');
    const allMr = await waitFor(async () => {
        const g = groupProblems(await problemRows());
        return g.length >= 2 ? g : undefined;
    }, 'both folders in the Problems panel');
    fs.writeFileSync(path.join(outDir, 'multiroot-all.txt'), JSON.stringify(allMr, null, 2));
    const alphaSev = allMr.find((g) => /alpha/.test(g.file))?.rows.map(severityOf) ?? [];
    const betaSev = allMr.find((g) => /beta/.test(g.file))?.rows.map(severityOf) ?? [];
    check('multi-root: alpha\'s tfguard.minimumSeverity HIGH hides alpha\'s lower findings only; beta keeps its warnings',
        alphaSev.length > 0 && alphaSev.every((x) => x === 'error') && betaSev.includes('warning'),
        `alpha [${alphaSev.join(' ')}] beta [${betaSev.join(' ')}]`);
    await shot('08-multiroot-own-severities');
    await closeSession();

    // ================= scenario 4: Restricted Mode
    const ws4 = copyFixture('e2e-settings', 'restricted-ws');
    fs.mkdirSync(path.join(ws4, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(ws4, '.vscode', 'settings.json'), JSON.stringify({
        'tfguard.policyDirs': ['${workspaceFolder}/org-policies'],
    }, null, 2));
    writeUserSettings({ 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never',
        'security.workspace.trust.banner': 'always' });
    await openSession(ws4, { trust: true });
    await openFile('infra/main.tf');
    const mode4 = await page.locator('#status\\.editor\\.mode').innerText().catch(() => '');
    await waitFor(async () => (await page.locator('.monaco-editor .squiggly-error').count()) > 0, 'squiggles in Restricted Mode');
    const restrictedStatus = await waitFor(async () => {
        const t = await tfguardStatus();
        return /Restricted Mode/.test(t) && /\d+ (CRITICAL|HIGH)/.test(t) ? t : undefined;
    }, 'the tfguard status item to say Restricted Mode');
    check('Restricted Mode: .tf opens as Terraform, findings shown, the status item says Restricted Mode',
        /terraform/i.test(mode4), `${mode4.trim()}; status "${restrictedStatus.trim()}"`);
    await page.keyboard.press(`${mod}+Shift+M`);
    await page.locator('.markers-panel').waitFor({ state: 'visible', timeout: STEP });
    await problemsFor('CKV_AWS_20', /main\.tf/);
    await problemsFor('CKV2_AWS_6', /main\.tf/); // the full pass has run: ACME_AWS_1 would be there by now
    await problemsFor('ACME_AWS_1', /main\.tf/, false);
    check('Restricted Mode: the workspace\'s tfguard.policyDirs is ignored (no ACME_AWS_1), Checkov findings stay', true);
    await setProblemsFilter('');
    await shot('09-restricted-mode');
    await closeSession();

    if (docImage) {
        fs.mkdirSync(path.dirname(docImage), { recursive: true });
        fs.copyFileSync(representative, docImage);
        log(`copied ${path.relative(repo, representative)} to ${docImage}`);
    }
} catch (e) {
    failed = true;
    log(`ERROR ${e.stack ?? e}`);
    if (page) {
        await shot('99-failure');
        const dom = await page.evaluate(() => [...document.querySelectorAll('.pane')].map((p) => ({
            cls: p.className,
            header: p.querySelector('.pane-header')?.getAttribute('aria-label'),
            headerText: p.querySelector('.pane-header')?.textContent,
            rows: [...p.querySelectorAll('.monaco-list-row')].map((r) => r.innerText).slice(0, 5),
        }))).catch((err) => String(err));
        fs.writeFileSync(path.join(outDir, 'failure-panes.json'), JSON.stringify(dom, null, 2));
    }
} finally {
    await closeSession();
    // Keep the server log of the extension (output channel) for debugging.
    try {
        const logs = path.join(userData, 'logs');
        for (const f of fs.readdirSync(logs, { recursive: true })) {
            if (/tfguard/i.test(String(f)) && String(f).endsWith('.log')) {
                fs.copyFileSync(path.join(logs, String(f)), path.join(outDir, `ext-${path.basename(String(f))}`));
            }
        }
    } catch { /* no logs */ }
    await new Promise((r) => setTimeout(r, 500));
    if (!process.env.TFGUARD_E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
}

const bad = results.filter((r) => !r.ok);
log(`${results.length - bad.length}/${results.length} checks passed${failed ? ', run aborted' : ''}; screenshots in ${outDir}`);
process.exit(failed || bad.length ? 1 : 0);
