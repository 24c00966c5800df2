// End-to-end test of the packaged tfguard extension in real VS Code (code-server), driven by
// headless Chromium through playwright-core. Run it with scripts/e2e-vscode.sh, which installs the
// dependencies into the cache, packages the .vsix and sets the environment below.
//
// Environment:
//   TFGUARD_E2E_CACHE    folder with app/node_modules (code-server, playwright-core)   [required]
//   TFGUARD_E2E_VSIX     the packaged extension                                         [required]
//   TFGUARD_E2E_PYTHON   interpreter with tfguard importable (tfguard.interpreter)      [required]
//   TFGUARD_E2E_OUT      where screenshots and logs go (default CACHE/out)
//   TFGUARD_E2E_DOC_IMAGE  copy the representative screenshot here (optional)
//   TFGUARD_E2E_CHROMIUM browser binary (default /usr/bin/chromium)
//   TFGUARD_E2E_TIMEOUT_MS  per-step timeout (default 90000)
//
// Asserts, from the page: ranked findings in the Problems panel with the right severities
// (prod CKV_AWS_20 is an error, its dev twin a warning; error/warning squiggles), the hover of a
// finding (check id + checkov:skip), the tfguard Findings view (groups with counts, prod first;
// a click opens the location), the status bar counts, and that the lightbulb's "Fix CKV_AWS_20"
// quick fix removes that finding.
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
const python = env('TFGUARD_E2E_PYTHON');
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
    if (f.endsWith('.png') || f.endsWith('.log') || f.endsWith('.txt')) fs.rmSync(path.join(outDir, f));
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfguard-e2e-'));
const userData = path.join(tmp, 'user-data');
const extDir = path.join(tmp, 'extensions');
const workspace = path.join(tmp, 'workspace');
const browserProfile = path.join(tmp, 'browser');
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.mkdirSync(extDir, { recursive: true });
fs.cpSync(path.join(repo, 'tests', 'fixtures', 'e2e'), workspace, { recursive: true });
fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
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
    'tfguard.interpreter': python,
}, null, 2));
// `tfguard.interpreter` is a machine setting: in code-server (a remote window) VS Code ignores the
// user's value for it and reads the server machine's settings, <user-data-dir>/Machine/settings.json.
fs.mkdirSync(path.join(userData, 'Machine'), { recursive: true });
fs.writeFileSync(path.join(userData, 'Machine', 'settings.json'), JSON.stringify({ 'tfguard.interpreter': python }, null, 2));

const csEnv = { ...process.env, VSCODE_CLI_DISABLE_UPDATES: '1' };
let codeServer;
let context;
let page;
const csLog = fs.createWriteStream(path.join(outDir, 'code-server.log'));

async function shot(name) {
    const file = path.join(outDir, `${name}.png`);
    try {
        await page.screenshot({ path: file });
        log(`screenshot ${path.relative(repo, file)}`);
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

// ------------------------------------------------------------------- run
let failed = false;
try {
    log(`workspace ${workspace}`);
    log(`installing ${path.relative(repo, vsix)} into a fresh extensions dir`);
    const inst = spawnSync(process.execPath, [codeServerEntry, '--user-data-dir', userData, '--extensions-dir', extDir,
        '--install-extension', vsix], { env: csEnv, encoding: 'utf8' });
    fs.writeFileSync(path.join(outDir, 'install-extension.log'), `${inst.stdout}\n${inst.stderr}`);
    if (inst.status !== 0 || !fs.readdirSync(extDir).some((d) => d.startsWith('tfguard.tfguard'))) {
        throw new Error(`--install-extension failed (${inst.status}): ${inst.stderr || inst.stdout}`);
    }
    check('the .vsix installs into code-server', true, fs.readdirSync(extDir).filter((d) => d.startsWith('tfguard')).join(', '));

    const port = await freePort();
    codeServer = spawn(process.execPath, [codeServerEntry,
        '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
        '--disable-workspace-trust', '--user-data-dir', userData, '--extensions-dir', extDir, workspace,
    ], { env: csEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    codeServer.stdout.pipe(csLog);
    codeServer.stderr.pipe(csLog);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 'code-server /healthz', 60_000);
    log(`code-server up on ${base} (pid ${codeServer.pid})`);

    context = await pwChromium.launchPersistentContext(browserProfile, {
        executablePath: chromium,
        headless: true,
        viewport: { width: 1600, height: 1000 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(STEP);
    const consoleLog = fs.createWriteStream(path.join(outDir, 'browser-console.log'));
    page.on('console', (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));
    await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: STEP });
    await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: STEP });
    log('workbench loaded');
    await page.waitForTimeout(1500);

    // ---- open the prod file: the extension activates, starts the server, squiggles appear
    await openFile('prod/main.tf');
    const mode = await page.locator('#status\\.editor\\.mode').innerText().catch(() => '');
    check('prod/main.tf opens as Terraform', /terraform/i.test(mode), `language status "${mode.trim()}"`);
    await waitFor(async () => (await page.locator('.monaco-editor .squiggly-error').count()) > 0, 'an error squiggle in prod/main.tf');
    const prodSquiggles = {
        error: await page.locator('.monaco-editor .squiggly-error').count(),
        warning: await page.locator('.monaco-editor .squiggly-warning').count(),
        info: await page.locator('.monaco-editor .squiggly-info').count(),
    };
    check('prod/main.tf has error squiggles', prodSquiggles.error > 0, JSON.stringify(prodSquiggles));
    await shot('01-prod-squiggles');

    // ---- dev twin: same CKV_AWS_20 is only a warning there
    await openFile('dev/main.tf');
    await waitFor(async () => (await page.locator('.monaco-editor .squiggly-warning').count()) > 0, 'a warning squiggle in dev/main.tf');
    const devSquiggles = {
        error: await page.locator('.monaco-editor .squiggly-error').count(),
        warning: await page.locator('.monaco-editor .squiggly-warning').count(),
        info: await page.locator('.monaco-editor .squiggly-info').count(),
    };
    check('dev/main.tf has warning squiggles and no error squiggles (ranked lower than prod)',
        devSquiggles.warning > 0 && devSquiggles.error === 0, JSON.stringify(devSquiggles));

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
    check('Problems: prod CKV_AWS_20 is an error, dev CKV_AWS_20 a warning',
        prodSev?.join() === 'error' && devSev?.join() === 'warning',
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
        prodRows.length >= 3 && sorted && sevs[0] === 'error' && prodRows.some((r) => /CKV_AWS_20/.test(r.text)),
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
    check('Findings view: severity groups with counts, highest first, prod CKV_AWS_20 on top',
        groups.length >= 2 && /^CRITICAL/.test(groups[0]) && /^CKV_AWS_20 aws_s3_bucket\.assets \| prod\/main\.tf:4$/.test(firstFinding),
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
    check('status bar: counts by severity', /1 CRITICAL/.test(status) && /1 HIGH/.test(status), status.trim());
    // Representative screenshot: findings view, squiggles, Problems panel and the hover.
    await openFile('prod/main.tf');
    await goToLine(4, 5);
    await page.keyboard.press(`${mod}+K`);
    await page.keyboard.press(`${mod}+I`);
    await waitFor(async () => (await hover.innerText().catch(() => '')).includes('CKV_AWS_20'), 'the hover again');
    const representative = await shot('02-findings-problems-hover');
    await page.keyboard.press('Escape');

    // ---- quick fix from the lightbulb: Ctrl+. on line 4, choose "Fix CKV_AWS_20"
    await goToLine(4, 5);
    await page.keyboard.press(`${mod}+.`);
    const menu = page.locator('.action-widget, .context-view .monaco-list').first();
    await menu.waitFor({ state: 'visible', timeout: STEP });
    const item = page.locator('.action-widget .monaco-list-row, .context-view .monaco-list-row').filter({ hasText: /Fix CKV_AWS_20/ }).first();
    await item.waitFor({ state: 'visible', timeout: STEP });
    const itemText = (await item.innerText()).trim();
    await shot('03-quick-fix-menu');
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
    await shot('04-after-quick-fix');

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
    await context?.close().catch(() => {});
    stopCodeServer();
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
