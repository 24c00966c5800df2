/**
 * Pure mapping from VS Code settings (`tfguard.*`) to the server's
 * initializationOptions / `workspace/configuration` answer.
 *
 * No `vscode` import: the caller reads the raw values and passes them in,
 * so this module is unit tested with plain objects.
 */

export const SEVERITIES = ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What the server receives, in initializationOptions and per `workspace/configuration` item. */
export interface ServerSettings {
    enable: boolean;
    minimumSeverity: Severity;
    idleDelayMs: number;
    catalogue: string | null;
    policyDirs: string[];
    skipReasonPlaceholder?: string;
}

export const DEFAULT_SETTINGS: Readonly<ServerSettings> = Object.freeze({
    enable: true,
    minimumSeverity: 'INFO',
    idleDelayMs: 500,
    catalogue: null,
    policyDirs: [],
});

export const MAX_IDLE_DELAY_MS = 60_000;

/** Values as read from `workspace.getConfiguration('tfguard', scope)`: anything the user typed. */
export interface RawSettings {
    enable?: unknown;
    minimumSeverity?: unknown;
    idleDelayMs?: unknown;
    catalogue?: unknown;
    policyDirs?: unknown;
    skipReasonPlaceholder?: unknown;
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

    return { settings, problems };
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
