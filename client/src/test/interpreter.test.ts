import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
    InterpreterInputs,
    commandLine,
    findOnPath,
    interpreterCandidates,
    probeCommand,
    serverCommand,
    venvPython,
} from '../interpreter';

function fakeFs(...files: string[]): (file: string) => boolean {
    const set = new Set(files);
    return (file) => set.has(file);
}

function inputs(overrides: Partial<InterpreterInputs>): InterpreterInputs {
    return { platform: 'linux', pathEnv: '/usr/local/bin:/usr/bin', isExecutable: fakeFs(), ...overrides };
}

test('the setting wins and is the only candidate', () => {
    const { candidates, problems } = interpreterCandidates(inputs({
        setting: '/opt/py/bin/python',
        pythonExtensionCommand: ['/ext/python'],
        isExecutable: fakeFs('/usr/bin/python3'),
    }));
    assert.deepEqual(problems, []);
    assert.deepEqual(candidates, [{ command: '/opt/py/bin/python', args: [], source: 'setting' }]);
});

test('a bare interpreter name in the setting is looked up on PATH', () => {
    const { candidates } = interpreterCandidates(inputs({
        setting: 'python3.12',
        isExecutable: fakeFs('/usr/bin/python3.12'),
    }));
    assert.deepEqual(candidates, [{ command: '/usr/bin/python3.12', args: [], source: 'setting' }]);
});

test('setting expands ~ and ${workspaceFolder}', () => {
    const { candidates } = interpreterCandidates(inputs({
        setting: '${workspaceFolder}/.venv/bin/python',
        paths: { workspaceFolder: '/ws', home: '/home/u' },
    }));
    assert.equal(candidates[0].command, '/ws/.venv/bin/python');
    const home = interpreterCandidates(inputs({ setting: '~/py/bin/python', paths: { home: '/home/u' } }));
    assert.equal(home.candidates[0].command, '/home/u/py/bin/python');
});

test('an unresolvable setting is reported and the other sources are used', () => {
    const { candidates, problems } = interpreterCandidates(inputs({
        setting: '${workspaceFolder}/.venv/bin/python',
        isExecutable: fakeFs('/usr/bin/python3'),
    }));
    assert.equal(problems.length, 1);
    assert.deepEqual(candidates.map((c) => c.source), ['path']);
});

test('without a setting: Python extension, then private environment, then PATH', () => {
    const { candidates } = interpreterCandidates(inputs({
        setting: '  ',
        pythonExtensionCommand: ['/home/u/.venv/bin/python'],
        privateEnvironmentPython: '/storage/venv/bin/python',
        isExecutable: fakeFs('/storage/venv/bin/python', '/usr/bin/python3', '/usr/bin/python'),
    }));
    assert.deepEqual(candidates.map((c) => [c.source, c.command]), [
        ['pythonExtension', '/home/u/.venv/bin/python'],
        ['privateEnvironment', '/storage/venv/bin/python'],
        ['path', '/usr/bin/python3'],
        ['path', '/usr/bin/python'],
    ]);
});

test('a multi-word Python extension command keeps its arguments', () => {
    const { candidates } = interpreterCandidates(inputs({ pythonExtensionCommand: ['conda', 'run', '-n', 'tf', 'python'] }));
    assert.deepEqual(candidates[0], { command: 'conda', args: ['run', '-n', 'tf', 'python'], source: 'pythonExtension' });
    assert.deepEqual(serverCommand(candidates[0]).args, ['run', '-n', 'tf', 'python', '-m', 'tfguard', 'serve']);
    assert.deepEqual(probeCommand(candidates[0]).args, ['run', '-n', 'tf', 'python', '-c', 'import tfguard; print(tfguard.__version__)']);
});

test('a private environment that does not exist is skipped', () => {
    const { candidates } = interpreterCandidates(inputs({
        privateEnvironmentPython: '/storage/venv/bin/python',
        isExecutable: fakeFs('/usr/bin/python3'),
    }));
    assert.deepEqual(candidates.map((c) => c.source), ['path']);
});

test('duplicates are removed (extension and PATH name the same python)', () => {
    const { candidates } = interpreterCandidates(inputs({
        pythonExtensionCommand: ['/usr/bin/python3'],
        isExecutable: fakeFs('/usr/bin/python3'),
    }));
    assert.deepEqual(candidates.map((c) => c.source), ['pythonExtension']);
});

test('nothing found gives no candidates', () => {
    assert.deepEqual(interpreterCandidates(inputs({ pathEnv: undefined })).candidates, []);
});

test('findOnPath takes the first PATH entry that has the file', () => {
    const isExec = fakeFs('/b/python3', '/c/python3');
    assert.equal(findOnPath('python3', '/a::/b:/c', 'linux', isExec), '/b/python3');
    assert.equal(findOnPath('python3', '', 'linux', isExec), undefined);
});

test('findOnPath on Windows uses ; and PATHEXT', () => {
    const isExec = fakeFs('C:\\Py\\python.EXE');
    assert.equal(findOnPath('python', 'C:\\Windows;C:\\Py', 'win32', isExec, '.COM;.EXE'), 'C:\\Py\\python.EXE');
    const { candidates } = interpreterCandidates({
        platform: 'win32', pathEnv: 'C:\\Py', pathExt: '.EXE', isExecutable: isExec,
    });
    assert.deepEqual(candidates.map((c) => c.command), ['C:\\Py\\python.EXE']);
});

test('venv python location per platform', () => {
    assert.equal(venvPython('/s/venv', 'linux'), '/s/venv/bin/python');
    assert.equal(venvPython('C:\\s\\venv', 'win32'), 'C:\\s\\venv\\Scripts\\python.exe');
});

test('command lines are quoted for display', () => {
    assert.equal(commandLine({ command: '/usr/bin/python3', args: ['-m', 'venv', '/a b/venv'] }, 'linux'), "/usr/bin/python3 -m venv '/a b/venv'");
    assert.equal(commandLine({ command: 'C:\\Program Files\\py.exe', args: [] }, 'win32'), '"C:\\Program Files\\py.exe"');
});
