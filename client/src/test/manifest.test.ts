// Settings drift (client side): package.json's tfguard.* settings (written from the server's
// settings.py MANIFEST by scripts/sync-settings.py; tests/unit/test_settings_manifest.py checks
// that part) against client/src/settings.ts: the same keys, the same defaults, the same enums.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { BASELINE_MODES, CLIENT_SETTING_KEYS, DEFAULT_SETTINGS, SERVER_SETTING_KEYS, SEVERITIES, toServerSettings } from '../settings';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { default?: unknown; enum?: unknown[] }> }; languages: { id: string; extensions: string[] }[] };
    capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
};
const props = pkg.contributes.configuration.properties;
const keys = Object.keys(props).map((k) => k.replace(/^tfguard\./, ''));

test('every package.json setting is known to settings.ts, and every settings.ts key is in package.json', () => {
    assert.deepEqual([...keys].sort(), [...SERVER_SETTING_KEYS, ...CLIENT_SETTING_KEYS].sort());
    const serverShape = Object.keys(toServerSettings({}).settings).filter((k) => k !== 'skipReasonPlaceholder');
    for (const k of serverShape) {
        assert.ok((SERVER_SETTING_KEYS as readonly string[]).includes(k), `ServerSettings.${k} is not listed`);
    }
});

test('package.json defaults are the client defaults (after validation)', () => {
    const raw: Record<string, unknown> = {};
    for (const k of SERVER_SETTING_KEYS) {
        raw[k] = props[`tfguard.${k}`].default;
    }
    const { settings, problems } = toServerSettings(raw);
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, { ...DEFAULT_SETTINGS });
});

test('enums agree', () => {
    assert.deepEqual(props['tfguard.minimumSeverity'].enum, [...SEVERITIES]);
    assert.deepEqual(props['tfguard.baselineMode'].enum, [...BASELINE_MODES]);
});

test('Restricted Mode is limited, and every setting that points at a program or file is restricted', () => {
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    for (const k of ['interpreter', 'catalogue', 'policyDirs', 'baseline', 'installSource', 'wheelhouse']) {
        assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(`tfguard.${k}`), k);
    }
});

test('languages use the HashiCorp ids: .tfvars is terraform-vars, never terraform', () => {
    const byId = new Map(pkg.contributes.languages.map((l) => [l.id, l.extensions]));
    assert.deepEqual([...byId.keys()].sort(), ['terraform', 'terraform-vars']);
    assert.ok(!byId.get('terraform')?.includes('.tfvars'));
    assert.deepEqual(byId.get('terraform-vars'), ['.tfvars']);
});

test('plan review commands are declared; Review Plan only in trusted workspaces; every registered command is declared', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
        contributes: { commands: { command: string; title: string; enablement?: string }[]; menus: Record<string, { command: string; when?: string }[]> };
    };
    const byId = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
    assert.equal(byId.get('tfguard.reviewPlan')?.title, 'Review Plan…');
    assert.equal(byId.get('tfguard.reviewPlan')?.enablement, 'isWorkspaceTrusted');
    assert.equal(byId.get('tfguard.clearPlan')?.title, 'Clear Plan Review');
    const explorer = manifest.contributes.menus['explorer/context'] ?? [];
    assert.ok(explorer.some((m) => m.command === 'tfguard.reviewPlan' && /isWorkspaceTrusted/.test(m.when ?? '')));
    const source = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'extension.ts'), 'utf8');
    const registered = [...source.matchAll(/reg\('([^']+)'/g)].map((m) => m[1])
        // the code actions' own targets (suppress with a reason, a fix that needs a choice): not palette commands
        .filter((id) => id !== 'tfguard.suppress' && id !== 'tfguard.chooseFix');
    assert.ok(registered.length >= 10);
    for (const id of registered) {
        assert.ok(byId.has(id), `${id} is registered but not declared in package.json`);
    }
});
