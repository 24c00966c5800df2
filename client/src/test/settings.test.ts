import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, MAX_IDLE_DELAY_MS, expandPath, parseSeverity, toServerSettings, validateSuppressionReason } from '../settings';

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
    }, ctx);
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, {
        enable: false,
        minimumSeverity: 'HIGH',
        idleDelayMs: 250,
        catalogue: '/etc/tfguard/catalogue.yaml',
        policyDirs: ['/p1', '/p2'],
        skipReasonPlaceholder: 'ticket number',
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
