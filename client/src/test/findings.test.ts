import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Finding, countBySeverity, groupFindings, isSuppressArgs, parseFindingsResponse, summarizeCounts } from '../findings';

function finding(uri: string, line: number, severity: string, priority: number): Finding {
    return {
        uri, range: { start: { line, character: 0 }, end: { line, character: 5 } },
        checkId: `CKV_${line}`, checkName: 'n', severity, priority, resource: 'r', message: 'm', guideline: '',
    };
}

const sample = [
    finding('file:///a.tf', 9, 'HIGH', 90),
    finding('file:///b.tf', 3, 'CRITICAL', 80),
    finding('file:///a.tf', 2, 'LOW', 10),
    finding('file:///c.tf', 1, 'weird', 5),
];

test('counts and summary by severity', () => {
    const counts = countBySeverity(sample);
    assert.equal(counts.CRITICAL, 1);
    assert.equal(counts.HIGH, 1);
    assert.equal(counts.LOW, 1);
    assert.equal(counts.UNKNOWN, 1);
    assert.equal(summarizeCounts(counts), '1 CRITICAL · 1 HIGH · 1 LOW · 1 UNKNOWN');
    assert.equal(summarizeCounts(countBySeverity([])), 'no findings');
});

test('grouping by severity puts the most severe first and keeps server order', () => {
    const groups = groupFindings(sample, 'severity');
    assert.deepEqual(groups.map((g) => g.key), ['CRITICAL', 'HIGH', 'LOW', 'UNKNOWN']);
});

test('grouping by file orders files by worst severity and findings by line', () => {
    const groups = groupFindings(sample, 'file');
    assert.deepEqual(groups.map((g) => g.key), ['file:///b.tf', 'file:///a.tf', 'file:///c.tf']);
    assert.deepEqual(groups[1].findings.map((f) => f.range.start.line), [2, 9]);
});

test('malformed findings are dropped, not fatal', () => {
    const parsed = parseFindingsResponse({ findings: [sample[0], { uri: 3 }, null, { ...sample[1], priority: 'x' }] });
    assert.equal(parsed.length, 2);
    assert.equal(parsed[1].priority, 0);
    assert.deepEqual(parseFindingsResponse(null), []);
    assert.deepEqual(parseFindingsResponse({ findings: 'no' }), []);
});

test('suppress arguments are recognised', () => {
    assert.ok(isSuppressArgs({ uri: 'file:///a.tf', checkId: 'CKV_AWS_1', line: 3, resource: 'aws_s3_bucket.b' }));
    assert.ok(!isSuppressArgs({ uri: 'file:///a.tf', checkId: 'CKV_AWS_1' }));
});

test('findings come from the diagnostics VS Code holds: tfguard only, hints (baselined) left out, by priority', async () => {
    const { findingsFromDiagnostics } = await import('../findings');
    const range = { start: { line: 3, character: 2 }, end: { line: 3, character: 9 } };
    const data = (checkId: string, severity: string, priority: number) => ({ checkId, severity, priority, resource: 'aws_s3_bucket.a', fixable: false });
    const found = findingsFromDiagnostics([
        ['file:///w/main.tf', [
            { range, message: '[LOW] a', severity: 2, source: 'tfguard', code: 'CKV_1', data: data('CKV_1', 'LOW', 10) },
            { range, message: '[HIGH] b', severity: 0, source: 'tfguard', code: { value: 'CKV_2', target: { toString: () => 'https://g' } }, data: data('CKV_2', 'HIGH', 90) },
            { range, message: 'in baseline', severity: 3, source: 'tfguard', data: data('CKV_3', 'HIGH', 95) },
            { range, message: 'other linter', severity: 0, source: 'tflint', data: data('X', 'HIGH', 99) },
            { range, message: 'config problem', severity: 0, source: 'tfguard', data: { problem: 'config' } },
        ]],
    ]);
    assert.deepEqual(found.map((f) => [f.checkId, f.severity, f.guideline]), [['CKV_2', 'HIGH', 'https://g'], ['CKV_1', 'LOW', '']]);
    assert.equal(found[0].uri, 'file:///w/main.tf');
    assert.equal(found[0].resource, 'aws_s3_bucket.a');
});

test('a reviewed plan\'s diagnostics ("tfguard (plan)") are findings marked plan; live ones are not', async () => {
    const { findingsFromDiagnostics } = await import('../findings');
    const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 8 } };
    const data = { checkId: 'CKV_AWS_21', severity: 'LOW', priority: 10, resource: 'aws_s3_bucket.b', fixable: false };
    const found = findingsFromDiagnostics([['file:///w/s3.tf', [
        { range, message: 'live', severity: 2, source: 'tfguard', data },
        { range, message: 'planned', severity: 2, source: 'tfguard (plan)', data },
    ]]]);
    assert.deepEqual(found.map((f) => [f.message, f.plan ?? false]), [['live', false], ['planned', true]]);
});

test('plan payloads: files kept, malformed entries dropped, summary and error told in one line', async () => {
    const { parsePlanPayload, planSummary } = await import('../findings');
    const p = parsePlanPayload({
        plan: 'file:///w/tfplan.json', source: 'tfguard (plan)', reason: 'loaded',
        files: [{ uri: 'file:///w/s3.tf', diagnostics: [{}, {}] }, { uri: 3 }, { uri: 'file:///w/iam.tf', diagnostics: [{}] }],
        summary: { failed: 3, skipped: 1 },
    });
    assert.ok(p);
    assert.deepEqual(p.files.map((f) => f.uri), ['file:///w/s3.tf', 'file:///w/iam.tf']);
    assert.equal(planSummary(p, 'tfplan.json'), 'tfguard plan review of tfplan.json: 3 findings in 2 files (source "tfguard (plan)").');
    const bad = parsePlanPayload({ plan: 'x', reason: 'loaded', files: [], summary: { failed: 0 }, error: 'not valid JSON' });
    assert.ok(bad);
    assert.equal(planSummary(bad, 'x.json'), 'tfguard cannot review x.json: not valid JSON');
    assert.equal(parsePlanPayload(null), undefined);
    assert.equal(parsePlanPayload({ files: 'no' }), undefined);
    const cleared = parsePlanPayload({ plan: null, reason: 'changed', files: [], summary: { failed: 0 } });
    assert.equal(cleared?.reason, 'changed');
    assert.equal(cleared?.files.length, 0);
});

test('full check status: payload guard and the status item suffix', async () => {
    const { parseFullCheckStatus, fullCheckSuffix } = await import('../findings');
    assert.equal(parseFullCheckStatus({ state: 'busy' }), undefined);
    assert.equal(parseFullCheckStatus(null), undefined);
    const running = parseFullCheckStatus({ state: 'running', message: 'full check of examples/complete still running (over the 30 s budget): showing per-file results until it ends', folder: '/w' });
    assert.ok(running);
    assert.equal(running.state, 'running');
    const idle = parseFullCheckStatus({ state: 'idle', message: 'done', folder: '/v' });
    assert.ok(idle);
    assert.deepEqual(fullCheckSuffix([idle]), { text: '', tooltip: '' });
    const s = fullCheckSuffix([running, idle]);
    assert.equal(s.text, ' · $(sync~spin) check running');
    assert.match(s.tooltip, /over the 30 s budget/);
    const failed = parseFullCheckStatus({ state: 'failed', message: 'Checkov failed on x', folder: '/u' });
    assert.ok(failed);
    assert.equal(fullCheckSuffix([running, failed]).text, ' · $(sync~spin) check running · $(warning) full check failed');
});
