import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
    DEFAULT_SETTINGS,
    MAX_IDLE_DELAY_MS,
    RawSettings,
    configurationAnswer,
    expandPath,
    parseAllowPythonChecks,
    parseSeverity,
    toInitializationOptions,
    toServerSettings,
    validateSuppressionReason,
} from '../settings';

const ctx = { workspaceFolder: '/ws', home: '/home/u' };

test('empty settings give the defaults and no problems', () => {
    const { settings, problems } = toServerSettings({});
    assert.deepEqual(settings, { ...DEFAULT_SETTINGS, policyDirs: [] });
    assert.deepEqual(problems, []);
    assert.ok(!('skipReasonPlaceholder' in settings), 'optional key omitted when unset');
});

test('valid settings are passed through in the server shape', () => {
    const { settings, problems } = toServerSettings({
        enable: false,
        minimumSeverity: 'HIGH',
        idleDelayMs: 250,
        catalogue: '/etc/tfguard/catalogue.yaml',
        policyDirs: ['/p1', '/p2'],
        skipReasonPlaceholder: 'ticket number',
        baseline: '.tfguard-baseline.json',
        baselineMode: 'hide',
        moduleTimeBudgetMs: 5000,
        maxFileBytes: 1000,
        indexWorkspace: false,
        severityLevels: { medium: 'information' },
    }, ctx);
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, {
        enable: false,
        minimumSeverity: 'HIGH',
        idleDelayMs: 250,
        catalogue: '/etc/tfguard/catalogue.yaml',
        policyDirs: ['/p1', '/p2'],
        skipReasonPlaceholder: 'ticket number',
        baseline: '.tfguard-baseline.json',
        baselineMode: 'hide',
        moduleTimeBudgetMs: 5000,
        maxFileBytes: 1000,
        indexWorkspace: false,
        severityLevels: { MEDIUM: 'information' },
    });
});

test('severity is accepted in any case', () => {
    assert.equal(toServerSettings({ minimumSeverity: ' medium ' }).settings.minimumSeverity, 'MEDIUM');
    assert.equal(parseSeverity('critical'), 'CRITICAL');
    assert.equal(parseSeverity('SEVERE'), undefined);
    assert.equal(parseSeverity(3), undefined);
});

for (const [name, raw, key] of [
    ['unknown severity', { minimumSeverity: 'SEVERE' }, 'minimumSeverity'],
    ['negative delay', { idleDelayMs: -1 }, 'idleDelayMs'],
    ['non-numeric delay', { idleDelayMs: '500' }, 'idleDelayMs'],
    ['NaN delay', { idleDelayMs: Number.NaN }, 'idleDelayMs'],
    ['enable as string', { enable: 'yes' }, 'enable'],
    ['catalogue as number', { catalogue: 3 }, 'catalogue'],
    ['policyDirs as string', { policyDirs: '/p' }, 'policyDirs'],
    ['baseline as number', { baseline: 1 }, 'baseline'],
    ['baseline with unresolvable variable', { baseline: '${workspaceFolder}/b.json' }, 'baseline'],
    ['unknown baselineMode', { baselineMode: 'ignore' }, 'baselineMode'],
    ['baselineMode as boolean', { baselineMode: true }, 'baselineMode'],
    ['negative module budget', { moduleTimeBudgetMs: -5 }, 'moduleTimeBudgetMs'],
    ['module budget as string', { moduleTimeBudgetMs: '20000' }, 'moduleTimeBudgetMs'],
    ['infinite module budget', { moduleTimeBudgetMs: Number.POSITIVE_INFINITY }, 'moduleTimeBudgetMs'],
] as const) {
    test(`invalid ${name} is reported and replaced by its default`, () => {
        const { settings, problems } = toServerSettings(raw);
        assert.equal(problems.length, 1, problems.join('\n'));
        assert.match(problems[0], new RegExp(`tfguard\\.${key}`));
        const expected = key === 'policyDirs' ? [] : DEFAULT_SETTINGS[key];
        assert.deepEqual(settings[key], expected);
    });
}

test('delay above the maximum is clamped and reported', () => {
    const { settings, problems } = toServerSettings({ idleDelayMs: 10 * MAX_IDLE_DELAY_MS });
    assert.equal(settings.idleDelayMs, MAX_IDLE_DELAY_MS);
    assert.equal(problems.length, 1);
});

test('fractional delay is rounded', () => {
    assert.equal(toServerSettings({ idleDelayMs: 99.6 }).settings.idleDelayMs, 100);
});

test('empty catalogue means the bundled one (null)', () => {
    const { settings, problems } = toServerSettings({ catalogue: '  ' });
    assert.equal(settings.catalogue, null);
    assert.deepEqual(problems, []);
});

test('paths expand ~, ${userHome} and ${workspaceFolder}', () => {
    const { settings, problems } = toServerSettings({
        catalogue: '~/cat.yaml',
        policyDirs: ['${workspaceFolder}/policies', '${userHome}/shared', '${workspaceFolder}/policies'],
    }, ctx);
    assert.deepEqual(problems, []);
    assert.equal(settings.catalogue, '/home/u/cat.yaml');
    assert.deepEqual(settings.policyDirs, ['/ws/policies', '/home/u/shared'], 'duplicates removed');
});

test('policyDirs drops bad entries but keeps good ones', () => {
    const { settings, problems } = toServerSettings({ policyDirs: ['/ok', 7, '', '${workspaceFolder}/x'] }, { home: '/h' });
    assert.deepEqual(settings.policyDirs, ['/ok']);
    assert.equal(problems.length, 3);
});

test('expandPath leaves plain paths alone and fails on unresolved variables', () => {
    assert.equal(expandPath('/abs/path', ctx), '/abs/path');
    assert.equal(expandPath('rel/~x', ctx), 'rel/~x');
    assert.equal(expandPath('${workspaceFolder}/a', {}), undefined);
});

test('suppression reason must not be blank', () => {
    assert.ok(validateSuppressionReason(''));
    assert.ok(validateSuppressionReason('   '));
    assert.equal(validateSuppressionReason('static website bucket'), undefined);
});

// ------------------------------------------------------------ baseline, module budget

test('baseline paths expand ~ and ${workspaceFolder}; blank means no baseline', () => {
    assert.equal(toServerSettings({ baseline: '${workspaceFolder}/.tfguard-baseline.json' }, ctx).settings.baseline, '/ws/.tfguard-baseline.json');
    assert.equal(toServerSettings({ baseline: '~/b.json' }, ctx).settings.baseline, '/home/u/b.json');
    const blank = toServerSettings({ baseline: '   ' }, ctx);
    assert.equal(blank.settings.baseline, null);
    assert.deepEqual(blank.problems, []);
});

test('baselineMode accepts any case and blanks', () => {
    assert.equal(toServerSettings({ baselineMode: ' HIDE ' }).settings.baselineMode, 'hide');
    assert.equal(toServerSettings({ baselineMode: 'Hint' }).settings.baselineMode, 'hint');
});

test('module time budget: 0 (unbounded) is kept, fractions are rounded to whole ms', () => {
    assert.equal(toServerSettings({ moduleTimeBudgetMs: 0 }).settings.moduleTimeBudgetMs, 0);
    assert.equal(toServerSettings({ moduleTimeBudgetMs: 1500.4 }).settings.moduleTimeBudgetMs, 1500);
    assert.ok(Number.isInteger(toServerSettings({ moduleTimeBudgetMs: 0.6 }).settings.moduleTimeBudgetMs));
});

// ------------------------------------------------------------ allowPythonChecks

test('allowPythonChecks: absolute paths and ~ are kept (deduplicated); bad entries are reported', () => {
    const { dirs, problems } = parseAllowPythonChecks(['/opt/checks', '~/checks', '${userHome}/checks', '', 3, 'rel/dir'], '/home/u');
    assert.deepEqual(dirs, ['/opt/checks', '/home/u/checks']);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.ok(problems.every((p) => p.includes('tfguard.allowPythonChecks')));
});

test('allowPythonChecks refuses ${workspaceFolder}: the workspace must not choose the code', () => {
    const { dirs, problems } = parseAllowPythonChecks(['${workspaceFolder}/checks'], '/home/u');
    assert.deepEqual(dirs, []);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /workspaceFolder/);
});

test('allowPythonChecks that is not a list is reported; unset is empty without problems', () => {
    assert.deepEqual(parseAllowPythonChecks('/opt/checks').dirs, []);
    assert.equal(parseAllowPythonChecks('/opt/checks').problems.length, 1);
    assert.deepEqual(parseAllowPythonChecks(undefined), { dirs: [], problems: [] });
    assert.deepEqual(parseAllowPythonChecks(null), { dirs: [], problems: [] });
});

test('initializationOptions carry the settings plus the user-level allowPythonChecks', () => {
    const { options, problems } = toInitializationOptions({ minimumSeverity: 'LOW', baseline: 'b.json' }, ['~/py-checks'], ctx);
    assert.deepEqual(problems, []);
    assert.equal(options.minimumSeverity, 'LOW');
    assert.equal(options.baseline, 'b.json');
    assert.deepEqual(options.allowPythonChecks, ['/home/u/py-checks']);
    assert.deepEqual(toInitializationOptions({}, undefined, ctx).options.allowPythonChecks, []);
});

test('allowPythonChecks never appears in the workspace/configuration mapping', () => {
    // Even if a raw object smuggles it in (e.g. a workspace value), toServerSettings drops it.
    const raw = { minimumSeverity: 'HIGH', allowPythonChecks: ['/evil'] } as RawSettings;
    const { settings } = toServerSettings(raw, ctx);
    assert.ok(!('allowPythonChecks' in settings));
    assert.ok(!JSON.stringify(settings).includes('/evil'));

    const validated = (): typeof settings => toServerSettings(raw, ctx).settings;
    const whole = configurationAnswer('tfguard', { allowPythonChecks: ['/evil'] }, validated);
    assert.deepEqual(whole, settings);
    assert.ok(!JSON.stringify(whole).includes('allowPythonChecks'));
    assert.equal(configurationAnswer('tfguard.allowPythonChecks', ['/evil'], validated), null);
    const everything = configurationAnswer(undefined, { editor: { tabSize: 2 }, tfguard: { allowPythonChecks: ['/evil'] } }, validated);
    assert.deepEqual(everything, { editor: { tabSize: 2 }, tfguard: settings });
    assert.ok(!JSON.stringify(everything).includes('/evil'));
});

test('configurationAnswer: sub-keys come validated, other sections pass through', () => {
    const validated = (): ReturnType<typeof toServerSettings>['settings'] => toServerSettings({ minimumSeverity: 'high' }).settings;
    assert.equal(configurationAnswer('tfguard.minimumSeverity', 'high', validated), 'HIGH');
    assert.equal(configurationAnswer('tfguard.trace.server', 'verbose', validated), 'verbose');
    assert.deepEqual(configurationAnswer('editor', { tabSize: 2 }, validated), { tabSize: 2 });
});
