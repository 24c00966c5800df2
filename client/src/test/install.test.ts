import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
    Bundle,
    checkPythonVersion,
    manualCommands,
    parseManifest,
    parseServerVersion,
    privateInstallPlan,
    requirementsWithWheel,
} from '../install';

const SHA = 'a'.repeat(64);
const bundle: Bundle = {
    version: '0.1.0',
    wheelPath: '/ext/client/server/tfguard-0.1.0-py3-none-any.whl',
    sha256: SHA,
    requirementsPath: '/ext/client/server/requirements.txt',
    lockTarget: 'CPython 3.11, Linux x86_64',
};
const pins = 'checkov==3.3.30 \\\n    --hash=sha256:' + 'b'.repeat(64) + '\n';
const base = { command: '/usr/bin/python3', args: [], source: 'path' as const };
const common = { base, venvDir: '/gs/venv', requirementsFile: '/gs/tfguard-requirements.txt', platform: 'linux' as const };

test('the default plan installs the bundled wheel and the pins with --require-hashes, never a name from an index', () => {
    const { plan, problem } = privateInstallPlan({ ...common, bundle, bundledRequirements: pins });
    assert.equal(problem, undefined);
    assert.ok(plan);
    assert.deepEqual(plan.createVenv, { command: '/usr/bin/python3', args: ['-m', 'venv', '/gs/venv'] });
    assert.equal(plan.pipInstall.command, '/gs/venv/bin/python');
    assert.ok(plan.pipInstall.args.includes('--require-hashes'));
    assert.ok(plan.pipInstall.args.includes('--only-binary=:all:'));
    assert.deepEqual(plan.pipInstall.args.slice(-2), ['-r', '/gs/tfguard-requirements.txt']);
    assert.ok(!plan.pipInstall.args.includes('tfguard'), 'no bare "tfguard" requirement');
    assert.ok(!plan.pipInstall.args.includes('--upgrade'));
    assert.ok(!plan.pipInstall.args.includes('--no-index'), 'online by default (PyPI, hash-checked)');
    // the generated requirements: every pin plus the bundled wheel with its own hash
    assert.ok(plan.requirementsText?.startsWith(pins));
    assert.match(plan.requirementsText ?? '', new RegExp(`^tfguard @ file:///ext/client/server/tfguard-0\\.1\\.0-py3-none-any\\.whl --hash=sha256:${SHA}$`, 'm'));
});

test('with tfguard.wheelhouse the plan reads only that folder (air-gapped)', () => {
    const { plan } = privateInstallPlan({ ...common, bundle, bundledRequirements: pins, wheelhouse: ' /mnt/wheels ' });
    const args = plan?.pipInstall.args ?? [];
    const i = args.indexOf('--no-index');
    assert.ok(i >= 0);
    assert.deepEqual(args.slice(i, i + 3), ['--no-index', '--find-links', '/mnt/wheels']);
    assert.ok(args.includes('--require-hashes'));
});

test('without a bundled server and no installSource the plan refuses instead of installing a name', () => {
    const { plan, problem } = privateInstallPlan({ ...common });
    assert.equal(plan, undefined);
    assert.match(problem ?? '', /carries no tfguard server/);
});

test('an explicit installSource (developer) is installed as given', () => {
    const { plan } = privateInstallPlan({ ...common, bundle, bundledRequirements: pins, installSource: '/src/tfguard' });
    assert.equal(plan?.pipInstall.args.at(-1), '/src/tfguard');
    assert.equal(plan?.requirementsText, undefined);
    assert.ok(!plan?.pipInstall.args.includes('--require-hashes'));
});

test('Windows: the venv python is Scripts\\python.exe and the wheel URL has forward slashes', () => {
    const { plan } = privateInstallPlan({
        ...common, platform: 'win32', venvDir: 'C:\\gs\\venv',
        bundle: { ...bundle, wheelPath: 'C:\\ext\\tfguard-0.1.0-py3-none-any.whl' }, bundledRequirements: pins,
    });
    assert.equal(plan?.python, 'C:\\gs\\venv\\Scripts\\python.exe');
    assert.match(plan?.requirementsText ?? '', /tfguard @ file:\/\/\/C:\/ext\/tfguard-0\.1\.0-py3-none-any\.whl/);
});

test('Python version check: 3.11 and later pass, 3.10 fails with a sentence naming both', () => {
    assert.deepEqual(checkPythonVersion('3.11.7\n', 'python3'), { ok: true, version: '3.11.7' });
    assert.equal(checkPythonVersion('3.13.0', 'python3').ok, true);
    assert.equal(checkPythonVersion('4.0.0', 'python3').ok, true);
    const old = checkPythonVersion('3.10.12', '/usr/bin/python3');
    assert.equal(old.ok, false);
    assert.equal(old.problem, '/usr/bin/python3 is Python 3.10.12; tfguard needs Python 3.11 or later.');
    assert.equal(checkPythonVersion('Python', 'py').ok, false);
});

test('the failure message gives the exact commands to run by hand', () => {
    const { plan } = privateInstallPlan({ ...common, bundle, bundledRequirements: pins, wheelhouse: '/w h' });
    assert.ok(plan);
    const text = manualCommands(plan, '/gs/tfguard-requirements.txt', 'linux');
    const lines = text.split('\n').filter((l) => !l.startsWith('#'));
    assert.deepEqual(lines, [
        '/usr/bin/python3 -m venv /gs/venv',
        "/gs/venv/bin/python -m pip install --disable-pip-version-check --no-input --require-hashes --only-binary=:all: --no-index --find-links '/w h' -r /gs/tfguard-requirements.txt",
    ]);
});

test('manifest parsing: paths are made absolute, a bad hash is refused', () => {
    const ok = parseManifest(JSON.stringify({ version: '0.1.0', wheel: 'tfguard-0.1.0-py3-none-any.whl', sha256: SHA, requirements: 'requirements.txt' }), '/ext/s');
    assert.equal(ok.bundle?.wheelPath, '/ext/s/tfguard-0.1.0-py3-none-any.whl');
    assert.equal(ok.bundle?.requirementsPath, '/ext/s/requirements.txt');
    assert.ok(parseManifest(JSON.stringify({ version: '0.1.0', wheel: 'w', sha256: 'xyz', requirements: 'r' }), '/').problem);
    assert.ok(parseManifest('{', '/').problem);
});

test('server version from the probe output; anything else is not a version', () => {
    assert.equal(parseServerVersion('0.1.0\n'), '0.1.0');
    assert.equal(parseServerVersion('warning: x\n0.2.0rc1\n'), '0.2.0rc1');
    assert.equal(parseServerVersion(''), undefined);
    assert.equal(parseServerVersion('Traceback'), undefined);
});

test('requirementsWithWheel keeps the pins and adds a newline when missing', () => {
    const text = requirementsWithWheel('a==1 --hash=sha256:' + 'c'.repeat(64), bundle);
    assert.equal(text.split('\n')[0], 'a==1 --hash=sha256:' + 'c'.repeat(64));
    assert.match(text, /\ntfguard @ file:\/\//);
});

test('installSource must name a file or folder: a bare package name is refused', () => {
    for (const name of ['tfguard', 'tfguard==0.1.0', ' checkov ']) {
        const { plan, problem } = privateInstallPlan({ ...common, bundle, bundledRequirements: pins, installSource: name });
        assert.equal(plan, undefined, name);
        assert.match(problem ?? '', /not a wheel file or a source folder/);
    }
    assert.ok(privateInstallPlan({ ...common, installSource: './dist/tfguard-0.1.0-py3-none-any.whl' }).plan);
    assert.ok(privateInstallPlan({ ...common, installSource: 'tfguard-0.1.0-py3-none-any.whl' }).plan);
});

test('the bundled lock serves only its own interpreter and platform; anything else is told before installing', async () => {
    const { checkLockTarget, parseLockTarget, unsupportedPlatformHelp } = await import('../install');
    const lock = 'CPython 3.11, Linux x86_64';
    assert.deepEqual(parseLockTarget(lock), { implementation: 'cpython', python: '3.11', platform: 'linux-x86_64', text: lock });
    assert.equal(checkLockTarget('3.11.7 cpython linux-x86_64\n', lock, 'python3'), undefined);
    assert.match(checkLockTarget('3.12.1 cpython linux-x86_64', lock, '/usr/bin/python3.12') ?? '',
        /locked for CPython 3\.11, Linux x86_64 .* \/usr\/bin\/python3\.12 is cpython 3\.12 on linux-x86_64\.$/);
    assert.match(checkLockTarget('3.11.7 cpython macosx-14.0-arm64', lock, 'python3') ?? '', /on macosx-14\.0-arm64/);
    assert.match(checkLockTarget('3.11.7 cpython linux-aarch64', lock, 'python3') ?? '', /linux-aarch64/);
    assert.match(checkLockTarget('3.11.7 cpython win-amd64', lock, 'py') ?? '', /win-amd64/);
    assert.match(checkLockTarget('3.11.7 pypy linux-x86_64', lock, 'pypy3') ?? '', /is pypy 3\.11/);
    assert.match(checkLockTarget('3.11.7', lock, 'python3') ?? '', /did not report its implementation/);
    assert.equal(checkLockTarget('3.12.0 cpython win-amd64', '', 'py'), undefined, 'no target named: nothing to check');
    const help = unsupportedPlatformHelp(lock);
    assert.match(help, /tfguard\.interpreter/);
    assert.ok(!/pip install (--upgrade )?tfguard\b/.test(help), 'never a package name from an index');
});
