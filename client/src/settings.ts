/**
 * Pure mapping from VS Code settings (`tfguard.*`) to the server's
 * initializationOptions / `workspace/configuration` answer.
 *
 * No `vscode` import: the caller reads the raw values and passes them in,
 * so this module is unit tested with plain objects.
 */

import * as path from 'path';

export const SEVERITIES = ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const BASELINE_MODES = ['hint', 'hide'] as const;
export type BaselineMode = (typeof BASELINE_MODES)[number];

/** What the server receives, in initializationOptions and per `workspace/configuration` item. */
export interface ServerSettings {
    enable: boolean;
    minimumSeverity: Severity;
    idleDelayMs: number;
    catalogue: string | null;
    policyDirs: string[];
    skipReasonPlaceholder?: string;
    /** Baseline file (`tfguard scan --create-baseline`); relative paths are resolved by the server against the workspace. */
    baseline: string | null;
    baselineMode: BaselineMode;
    /** Tier-2 time budget per module run, in whole milliseconds; 0 means unbounded. */
    moduleTimeBudgetMs: number;
    maxFileBytes: number;
    indexWorkspace: boolean;
    /** Severity name -> LSP level (error, warning, information, hint). */
    severityLevels: Record<string, string>;
}

export const LEVELS = ['error', 'warning', 'information', 'hint'] as const;

/**
 * What the server receives in initializationOptions only: the workspace settings plus
 * `allowPythonChecks`, which makes the server run code and therefore is never part of a
 * `workspace/configuration` answer (the server ignores it there anyway).
 */
export interface InitializationOptions extends ServerSettings {
    allowPythonChecks: string[];
}

export const DEFAULT_SETTINGS: Readonly<ServerSettings> = Object.freeze({
    enable: true,
    minimumSeverity: 'INFO',
    idleDelayMs: 500,
    catalogue: null,
    policyDirs: [],
    baseline: null,
    baselineMode: 'hint',
    moduleTimeBudgetMs: 20_000,
    maxFileBytes: 4 * 1024 * 1024,
    indexWorkspace: true,
    severityLevels: {},
});

/**
 * Every `tfguard.*` key the server reads (the keys of ServerSettings plus allowPythonChecks), and the
 * client-only ones: checked against package.json (and package.json against the server's
 * settings.py MANIFEST) by the settings-drift tests.
 */
export const SERVER_SETTING_KEYS = [
    'enable', 'minimumSeverity', 'idleDelayMs', 'catalogue', 'policyDirs', 'skipReasonPlaceholder', 'baseline',
    'baselineMode', 'moduleTimeBudgetMs', 'maxFileBytes', 'indexWorkspace', 'severityLevels', 'allowPythonChecks',
] as const;
export const CLIENT_SETTING_KEYS = ['interpreter', 'installSource', 'wheelhouse', 'findingsView.groupBy', 'trace.server'] as const;

export const MAX_IDLE_DELAY_MS = 60_000;

/** Values as read from `workspace.getConfiguration('tfguard', scope)`: anything the user typed. */
export interface RawSettings {
    enable?: unknown;
    minimumSeverity?: unknown;
    idleDelayMs?: unknown;
    catalogue?: unknown;
    policyDirs?: unknown;
    skipReasonPlaceholder?: unknown;
    baseline?: unknown;
    baselineMode?: unknown;
    moduleTimeBudgetMs?: unknown;
    maxFileBytes?: unknown;
    indexWorkspace?: unknown;
    severityLevels?: unknown;
}

/** Where `${workspaceFolder}`, `${userHome}` and `~` point. */
export interface PathContext {
    workspaceFolder?: string | undefined;
    home?: string | undefined;
}

export interface SettingsResult {
    settings: ServerSettings;
    /** One readable sentence per invalid value; each was replaced by its default. */
    problems: string[];
}

/** Expand `~`, `${userHome}` and `${workspaceFolder}` in a path setting; undefined if a variable cannot be resolved. */
export function expandPath(value: string, ctx: PathContext): string | undefined {
    let out = value.trim();
    if (ctx.home !== undefined) {
        if (out === '~') {
            out = ctx.home;
        } else if (out.startsWith('~/') || out.startsWith('~\\')) {
            out = ctx.home + out.slice(1);
        }
    }
    let unresolved = false;
    out = out.replace(/\$\{(workspaceFolder|userHome)\}/g, (_m, name: string) => {
        const replacement = name === 'workspaceFolder' ? ctx.workspaceFolder : ctx.home;
        if (replacement === undefined) {
            unresolved = true;
            return '';
        }
        return replacement;
    });
    return unresolved ? undefined : out;
}

/** Validate raw settings and build the server's settings object, replacing invalid values by defaults. */
export function toServerSettings(raw: RawSettings, ctx: PathContext = {}): SettingsResult {
    const problems: string[] = [];
    const settings: ServerSettings = {
        enable: DEFAULT_SETTINGS.enable,
        minimumSeverity: DEFAULT_SETTINGS.minimumSeverity,
        idleDelayMs: DEFAULT_SETTINGS.idleDelayMs,
        catalogue: DEFAULT_SETTINGS.catalogue,
        policyDirs: [],
        baseline: DEFAULT_SETTINGS.baseline,
        baselineMode: DEFAULT_SETTINGS.baselineMode,
        moduleTimeBudgetMs: DEFAULT_SETTINGS.moduleTimeBudgetMs,
        maxFileBytes: DEFAULT_SETTINGS.maxFileBytes,
        indexWorkspace: DEFAULT_SETTINGS.indexWorkspace,
        severityLevels: {},
    };

    if (raw.enable !== undefined && raw.enable !== null) {
        if (typeof raw.enable === 'boolean') {
            settings.enable = raw.enable;
        } else {
            problems.push(`tfguard.enable must be true or false, not ${show(raw.enable)}; using ${settings.enable}.`);
        }
    }

    if (raw.minimumSeverity !== undefined && raw.minimumSeverity !== null) {
        const severity = parseSeverity(raw.minimumSeverity);
        if (severity !== undefined) {
            settings.minimumSeverity = severity;
        } else {
            problems.push(
                `tfguard.minimumSeverity must be one of ${SEVERITIES.join(', ')}, not ${show(raw.minimumSeverity)}; ` +
                `using ${settings.minimumSeverity}.`,
            );
        }
    }

    if (raw.idleDelayMs !== undefined && raw.idleDelayMs !== null) {
        const delay = raw.idleDelayMs;
        if (typeof delay === 'number' && Number.isFinite(delay) && delay >= 0) {
            settings.idleDelayMs = Math.min(Math.round(delay), MAX_IDLE_DELAY_MS);
            if (delay > MAX_IDLE_DELAY_MS) {
                problems.push(`tfguard.idleDelayMs ${delay} is above ${MAX_IDLE_DELAY_MS}; using ${MAX_IDLE_DELAY_MS}.`);
            }
        } else {
            problems.push(
                `tfguard.idleDelayMs must be a number of milliseconds >= 0, not ${show(delay)}; using ${settings.idleDelayMs}.`,
            );
        }
    }

    if (raw.catalogue !== undefined && raw.catalogue !== null) {
        if (typeof raw.catalogue === 'string') {
            if (raw.catalogue.trim() !== '') {
                const expanded = expandPath(raw.catalogue, ctx);
                if (expanded === undefined) {
                    problems.push(`tfguard.catalogue ${show(raw.catalogue)} uses a variable that cannot be resolved here; using the bundled catalogue.`);
                } else {
                    settings.catalogue = expanded;
                }
            }
        } else {
            problems.push(`tfguard.catalogue must be a path, not ${show(raw.catalogue)}; using the bundled catalogue.`);
        }
    }

    if (raw.policyDirs !== undefined && raw.policyDirs !== null) {
        if (Array.isArray(raw.policyDirs)) {
            const seen = new Set<string>();
            for (const entry of raw.policyDirs as unknown[]) {
                if (typeof entry !== 'string' || entry.trim() === '') {
                    problems.push(`tfguard.policyDirs entries must be non-empty paths; ignoring ${show(entry)}.`);
                    continue;
                }
                const expanded = expandPath(entry, ctx);
                if (expanded === undefined) {
                    problems.push(`tfguard.policyDirs entry ${show(entry)} uses a variable that cannot be resolved here; ignoring it.`);
                    continue;
                }
                if (!seen.has(expanded)) {
                    seen.add(expanded);
                    settings.policyDirs.push(expanded);
                }
            }
        } else {
            problems.push(`tfguard.policyDirs must be a list of paths, not ${show(raw.policyDirs)}; using [].`);
        }
    }

    if (raw.skipReasonPlaceholder !== undefined && raw.skipReasonPlaceholder !== null) {
        if (typeof raw.skipReasonPlaceholder === 'string') {
            if (raw.skipReasonPlaceholder.trim() !== '') {
                settings.skipReasonPlaceholder = raw.skipReasonPlaceholder;
            }
        } else {
            problems.push(`tfguard.skipReasonPlaceholder must be text, not ${show(raw.skipReasonPlaceholder)}; ignoring it.`);
        }
    }

    if (raw.baseline !== undefined && raw.baseline !== null) {
        if (typeof raw.baseline === 'string') {
            if (raw.baseline.trim() !== '') {
                const expanded = expandPath(raw.baseline, ctx);
                if (expanded === undefined) {
                    problems.push(`tfguard.baseline ${show(raw.baseline)} uses a variable that cannot be resolved here; using no baseline.`);
                } else {
                    settings.baseline = expanded;
                }
            }
        } else {
            problems.push(`tfguard.baseline must be a path, not ${show(raw.baseline)}; using no baseline.`);
        }
    }

    if (raw.baselineMode !== undefined && raw.baselineMode !== null) {
        const mode = typeof raw.baselineMode === 'string' ? raw.baselineMode.trim().toLowerCase() : undefined;
        if (mode !== undefined && (BASELINE_MODES as readonly string[]).includes(mode)) {
            settings.baselineMode = mode as BaselineMode;
        } else {
            problems.push(
                `tfguard.baselineMode must be one of ${BASELINE_MODES.join(', ')}, not ${show(raw.baselineMode)}; ` +
                `using ${settings.baselineMode}.`,
            );
        }
    }

    if (raw.moduleTimeBudgetMs !== undefined && raw.moduleTimeBudgetMs !== null) {
        const budget = raw.moduleTimeBudgetMs;
        if (typeof budget === 'number' && Number.isFinite(budget) && budget >= 0) {
            settings.moduleTimeBudgetMs = Math.round(budget); // the server accepts whole milliseconds only
        } else {
            problems.push(
                `tfguard.moduleTimeBudgetMs must be a number of milliseconds >= 0 (0: no limit), not ${show(budget)}; ` +
                `using ${settings.moduleTimeBudgetMs}.`,
            );
        }
    }

    if (raw.maxFileBytes !== undefined && raw.maxFileBytes !== null) {
        const n = raw.maxFileBytes;
        if (typeof n === 'number' && Number.isFinite(n) && n >= 0) {
            settings.maxFileBytes = Math.round(n);
        } else {
            problems.push(`tfguard.maxFileBytes must be a number of bytes >= 0, not ${show(n)}; using ${settings.maxFileBytes}.`);
        }
    }

    if (raw.indexWorkspace !== undefined && raw.indexWorkspace !== null) {
        if (typeof raw.indexWorkspace === 'boolean') {
            settings.indexWorkspace = raw.indexWorkspace;
        } else {
            problems.push(`tfguard.indexWorkspace must be true or false, not ${show(raw.indexWorkspace)}; using ${settings.indexWorkspace}.`);
        }
    }

    if (raw.severityLevels !== undefined && raw.severityLevels !== null) {
        if (isRecord(raw.severityLevels)) {
            for (const [key, value] of Object.entries(raw.severityLevels)) {
                const severity = parseSeverity(key);
                if (severity === undefined || typeof value !== 'string' || !(LEVELS as readonly string[]).includes(value)) {
                    problems.push(`tfguard.severityLevels entry ${show(key)}: ${show(value)} must map a severity (${SEVERITIES.join(', ')}) to one of ${LEVELS.join(', ')}; ignoring it.`);
                    continue;
                }
                settings.severityLevels[severity] = value;
            }
        } else {
            problems.push(`tfguard.severityLevels must be an object such as {"MEDIUM": "information"}, not ${show(raw.severityLevels)}; using {}.`);
        }
    }

    return { settings, problems };
}

/**
 * Validate `tfguard.allowPythonChecks` as read from the *user* settings only
 * (`inspect('allowPythonChecks')?.globalValue`). Entries must be absolute after expanding
 * `~` / `${userHome}`; `${workspaceFolder}` and relative paths are refused, since they would
 * let whichever workspace is open decide which code runs.
 */
export function parseAllowPythonChecks(value: unknown, home?: string): { dirs: string[]; problems: string[] } {
    const dirs: string[] = [];
    const problems: string[] = [];
    if (value === undefined || value === null) {
        return { dirs, problems };
    }
    if (!Array.isArray(value)) {
        problems.push(`tfguard.allowPythonChecks must be a list of directories, not ${show(value)}; using [].`);
        return { dirs, problems };
    }
    const seen = new Set<string>();
    for (const entry of value as unknown[]) {
        if (typeof entry !== 'string' || entry.trim() === '') {
            problems.push(`tfguard.allowPythonChecks entries must be non-empty paths; ignoring ${show(entry)}.`);
            continue;
        }
        const expanded = expandPath(entry, { home });
        if (expanded === undefined) {
            problems.push(
                `tfguard.allowPythonChecks entry ${show(entry)} uses a variable that cannot be resolved here ` +
                '(${workspaceFolder} is not allowed: the opted-in directories must not depend on the workspace); ignoring it.',
            );
            continue;
        }
        if (!path.posix.isAbsolute(expanded) && !path.win32.isAbsolute(expanded)) {
            problems.push(`tfguard.allowPythonChecks entry ${show(entry)} must be an absolute path (or start with ~); ignoring it.`);
            continue;
        }
        if (!seen.has(expanded)) {
            seen.add(expanded);
            dirs.push(expanded);
        }
    }
    return { dirs, problems };
}

/** initializationOptions: the workspace settings plus the user-only `allowPythonChecks`. */
export function toInitializationOptions(
    raw: RawSettings,
    userAllowPythonChecks: unknown,
    ctx: PathContext = {},
): { options: InitializationOptions; problems: string[] } {
    const { settings, problems } = toServerSettings(raw, ctx);
    const allowed = parseAllowPythonChecks(userAllowPythonChecks, ctx.home);
    return {
        options: { ...settings, allowPythonChecks: allowed.dirs },
        problems: [...problems, ...allowed.problems],
    };
}

/**
 * One item of a `workspace/configuration` answer. `tfguard` gets the validated settings;
 * `tfguard.<key>` gets that validated value; the whole configuration (no section) gets its
 * `tfguard` part replaced. `allowPythonChecks` never appears in any of them.
 */
export function configurationAnswer(
    section: string | undefined,
    defaultValue: unknown,
    settings: () => ServerSettings,
    sectionName = 'tfguard',
): unknown {
    if (section === sectionName) {
        return settings();
    }
    if (section !== undefined && section !== '' && section.startsWith(`${sectionName}.`)) {
        const key = section.slice(sectionName.length + 1);
        if (key === 'allowPythonChecks') {
            return null;
        }
        const validated = settings();
        return Object.prototype.hasOwnProperty.call(validated, key) ? (validated as unknown as Record<string, unknown>)[key] : defaultValue;
    }
    if ((section === undefined || section === '') && isRecord(defaultValue) && sectionName in defaultValue) {
        return { ...defaultValue, [sectionName]: settings() };
    }
    return defaultValue;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Accepts any case and surrounding blanks: `"high"` → `"HIGH"`. */
export function parseSeverity(value: unknown): Severity | undefined {
    if (typeof value !== 'string') {
        return undefined;
    }
    const upper = value.trim().toUpperCase();
    return (SEVERITIES as readonly string[]).includes(upper) ? (upper as Severity) : undefined;
}

/** Validation of a suppression reason typed by the user: a message, or undefined when it is acceptable. */
export function validateSuppressionReason(value: string): string | undefined {
    return value.trim() === '' ? 'A reason is required to suppress a finding.' : undefined;
}

function show(value: unknown): string {
    try {
        const text = JSON.stringify(value);
        return text === undefined ? String(value) : text;
    } catch {
        return String(value);
    }
}
