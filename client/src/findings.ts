/**
 * Pure model of tfguard findings: the `tfguard/findings` answer, counts by
 * severity, grouping for the tree view. No `vscode` import.
 */
import { SEVERITIES, Severity, parseSeverity } from './settings';

export const FINDINGS_REQUEST = 'tfguard/findings';
export const SERVER_SCAN_COMMAND = 'tfguard.server.scanWorkspace';
export const SERVER_SUPPRESS_COMMAND = 'tfguard.server.suppress';
export const DIAGNOSTIC_SOURCE = 'tfguard';
/** Source label of the diagnostics of a reviewed plan (server: tfguard.scan.plan.PLAN_SOURCE_LABEL). */
export const PLAN_DIAGNOSTIC_SOURCE = 'tfguard (plan)';
export const SERVER_REVIEW_PLAN_COMMAND = 'tfguard.server.reviewPlan';
export const SERVER_CLEAR_PLAN_COMMAND = 'tfguard.server.clearPlan';
/** Sent by the server when a plan is loaded, cleared, or changed on disk (server/tfguard/lsp/features/plan.py). */
export const PLAN_DIAGNOSTICS_NOTIFICATION = 'tfguard/planDiagnostics';

export interface Position {
    line: number;
    character: number;
}

export interface Range {
    start: Position;
    end: Position;
}

/** One element of the `tfguard/findings` answer. */
export interface Finding {
    uri: string;
    range: Range;
    checkId: string;
    checkName: string;
    severity: string;
    priority: number;
    resource: string;
    message: string;
    guideline: string;
    /** From a reviewed plan (source "tfguard (plan)"), not from the live check of the files. */
    plan?: boolean;
}

export interface FindingsResponse {
    findings: Finding[];
}

/** Severities from most to least severe, then findings with a severity the client does not know. */
export const SEVERITY_ORDER: readonly string[] = [...SEVERITIES].reverse();
export const UNKNOWN_SEVERITY = 'UNKNOWN';

export function normalizeSeverity(value: unknown): Severity | typeof UNKNOWN_SEVERITY {
    return parseSeverity(value) ?? UNKNOWN_SEVERITY;
}

function severityRank(severity: string): number {
    const index = SEVERITY_ORDER.indexOf(severity);
    return index === -1 ? SEVERITY_ORDER.length : index;
}

export type SeverityCounts = Record<Severity | typeof UNKNOWN_SEVERITY, number>;

export function countBySeverity(findings: readonly Pick<Finding, 'severity'>[]): SeverityCounts {
    const counts: SeverityCounts = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, INFO: 0, UNKNOWN: 0 };
    for (const f of findings) {
        counts[normalizeSeverity(f.severity)] += 1;
    }
    return counts;
}

/** Short status bar text, e.g. `2 CRITICAL · 1 HIGH`, or `no findings`. */
export function summarizeCounts(counts: SeverityCounts): string {
    const parts: string[] = [];
    for (const severity of [...SEVERITY_ORDER, UNKNOWN_SEVERITY] as const) {
        const n = counts[severity as keyof SeverityCounts];
        if (n > 0) {
            parts.push(`${n} ${severity}`);
        }
    }
    return parts.length === 0 ? 'no findings' : parts.join(' · ');
}

export type GroupBy = 'severity' | 'file';

export interface FindingGroup {
    /** Severity name, or the file URI. */
    key: string;
    findings: Finding[];
}

/**
 * Group findings. By severity: most severe group first, findings in the
 * server's order (priority descending). By file: files with the most severe
 * (then most) findings first, findings by line.
 */
export function groupFindings(findings: readonly Finding[], by: GroupBy): FindingGroup[] {
    const groups = new Map<string, Finding[]>();
    for (const f of findings) {
        const key = by === 'severity' ? normalizeSeverity(f.severity) : f.uri;
        let list = groups.get(key);
        if (!list) {
            list = [];
            groups.set(key, list);
        }
        list.push(f);
    }
    const result = [...groups.entries()].map(([key, list]) => ({ key, findings: list }));
    if (by === 'severity') {
        result.sort((a, b) => severityRank(a.key) - severityRank(b.key));
    } else {
        const worst = (g: FindingGroup): number => Math.min(...g.findings.map((f) => severityRank(normalizeSeverity(f.severity))));
        result.sort((a, b) => worst(a) - worst(b) || b.findings.length - a.findings.length || a.key.localeCompare(b.key));
        for (const g of result) {
            g.findings.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
        }
    }
    return result;
}

/** `data` attached by the server to each diagnostic. */
export interface DiagnosticData {
    checkId: string;
    severity: string;
    priority: number;
    resource: string;
    file: string;
    fixable: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null;
}

export function isDiagnosticData(value: unknown): value is DiagnosticData {
    return isRecord(value) && typeof value.checkId === 'string' && typeof value.severity === 'string';
}

/** Guard for the `tfguard/findings` answer; drops malformed entries instead of failing the whole view. */
export function parseFindingsResponse(value: unknown): Finding[] {
    if (!isRecord(value) || !Array.isArray(value.findings)) {
        return [];
    }
    const out: Finding[] = [];
    for (const item of value.findings as unknown[]) {
        if (!isRecord(item) || typeof item.uri !== 'string' || !isRange(item.range)) {
            continue;
        }
        out.push({
            uri: item.uri,
            range: item.range,
            checkId: str(item.checkId),
            checkName: str(item.checkName),
            severity: str(item.severity),
            priority: typeof item.priority === 'number' ? item.priority : 0,
            resource: str(item.resource),
            message: str(item.message),
            guideline: str(item.guideline),
        });
    }
    return out;
}

function str(value: unknown): string {
    return typeof value === 'string' ? value : '';
}

function isPosition(value: unknown): value is Position {
    return isRecord(value) && typeof value.line === 'number' && typeof value.character === 'number';
}

function isRange(value: unknown): value is Range {
    return isRecord(value) && isPosition(value.start) && isPosition(value.end);
}

/** Arguments of the `tfguard.suppress` code action command. */
export interface SuppressArgs {
    uri: string;
    checkId: string;
    line: number;
    resource: string;
}

export function isSuppressArgs(value: unknown): value is SuppressArgs {
    return isRecord(value) && typeof value.uri === 'string' && typeof value.checkId === 'string'
        && typeof value.line === 'number' && typeof value.resource === 'string';
}

/** The parts of a VS Code diagnostic the findings view reads (structural: no `vscode` import). */
export interface DiagnosticLike {
    range: Range;
    message: string;
    /** vscode.DiagnosticSeverity: 0 error, 1 warning, 2 information, 3 hint. */
    severity: number;
    source?: string | undefined;
    code?: string | number | { value: string | number; target: { toString(): string } } | undefined;
    data?: unknown;
}

export const HINT_SEVERITY = 3;

/**
 * The findings the Problems panel shows, from the diagnostics VS Code holds (pushed or pulled):
 * tfguard's diagnostics that carry a check id (live ones, and those of a reviewed plan marked `plan`),
 * without hints (baselined findings in "hint" mode,
 * which the Problems panel does not list). Highest priority first.
 */
export function findingsFromDiagnostics(entries: readonly (readonly [string, readonly DiagnosticLike[]])[]): Finding[] {
    const out: Finding[] = [];
    for (const [uri, diagnostics] of entries) {
        for (const d of diagnostics) {
            const plan = d.source === PLAN_DIAGNOSTIC_SOURCE;
            if ((d.source !== DIAGNOSTIC_SOURCE && !plan) || d.severity === HINT_SEVERITY || !isDiagnosticData(d.data)) {
                continue;
            }
            const data = d.data;
            out.push({
                uri,
                range: {
                    start: { line: d.range.start.line, character: d.range.start.character },
                    end: { line: d.range.end.line, character: d.range.end.character },
                },
                checkId: data.checkId,
                checkName: d.message,
                severity: data.severity,
                priority: typeof data.priority === 'number' ? data.priority : 0,
                resource: typeof data.resource === 'string' ? data.resource : '',
                message: d.message,
                guideline: typeof d.code === 'object' && d.code !== null ? d.code.target.toString() : '',
                ...(plan ? { plan: true } : {}),
            });
        }
    }
    return out.sort((a, b) => b.priority - a.priority);
}

/** One file of a plan review: its diagnostics as the server sent them (LSP JSON). */
export interface PlanFile {
    uri: string;
    diagnostics: unknown[];
}

/** The `tfguard.server.reviewPlan` / `tfguard.server.clearPlan` result and the `tfguard/planDiagnostics` notification. */
export interface PlanPayload {
    plan: string | null;
    reason: string;
    files: PlanFile[];
    failed: number;
    error?: string;
}

/** Guard for a plan payload; undefined when it is not one (a malformed file entry is dropped). */
export function parsePlanPayload(value: unknown): PlanPayload | undefined {
    if (!isRecord(value) || !Array.isArray(value.files)) {
        return undefined;
    }
    const files: PlanFile[] = [];
    for (const f of value.files as unknown[]) {
        if (isRecord(f) && typeof f.uri === 'string' && Array.isArray(f.diagnostics)) {
            files.push({ uri: f.uri, diagnostics: f.diagnostics as unknown[] });
        }
    }
    const summary = isRecord(value.summary) ? value.summary : {};
    const out: PlanPayload = {
        plan: typeof value.plan === 'string' ? value.plan : null,
        reason: typeof value.reason === 'string' ? value.reason : '',
        files,
        failed: typeof summary.failed === 'number' ? summary.failed : files.reduce((n, f) => n + f.diagnostics.length, 0),
    };
    if (typeof value.error === 'string' && value.error) {
        out.error = value.error;
    }
    return out;
}

/** The one-line message after a plan review, e.g. `tfguard plan review of tfplan.json: 10 findings in 3 files.` */
export function planSummary(payload: PlanPayload, planName: string): string {
    if (payload.error) {
        return `tfguard cannot review ${planName}: ${payload.error}`;
    }
    const n = payload.failed;
    const files = payload.files.length;
    return `tfguard plan review of ${planName}: ${n} finding${n === 1 ? '' : 's'}`
        + (files ? ` in ${files} file${files === 1 ? '' : 's'} (source "${PLAN_DIAGNOSTIC_SOURCE}").` : '.');
}

/** The server's `tfguard/status` notification: the state of a workspace folder's full check. */
export const FULL_CHECK_STATUS_NOTIFICATION = 'tfguard/status';

export interface FullCheckStatus {
    state: 'running' | 'idle' | 'failed';
    message: string;
    folder: string;
}

/** Guard for a `tfguard/status` payload; undefined when it is not one. */
export function parseFullCheckStatus(value: unknown): FullCheckStatus | undefined {
    if (!isRecord(value) || (value.state !== 'running' && value.state !== 'idle' && value.state !== 'failed')) {
        return undefined;
    }
    return {
        state: value.state,
        message: typeof value.message === 'string' ? value.message : '',
        folder: typeof value.folder === 'string' ? value.folder : '',
    };
}

/**
 * What the status item adds to its counts while full checks are not settled: the running ones first
 * (their findings are per-file results until they end), then the failed ones. Empty when all are idle.
 */
export function fullCheckSuffix(statuses: readonly FullCheckStatus[]): { text: string; tooltip: string } {
    const running = statuses.filter((s) => s.state === 'running');
    const failed = statuses.filter((s) => s.state === 'failed');
    const parts: string[] = [];
    if (running.length) {
        parts.push(running.length === 1 ? '$(sync~spin) check running' : `$(sync~spin) ${running.length} checks running`);
    }
    if (failed.length) {
        parts.push(failed.length === 1 ? '$(warning) full check failed' : `$(warning) ${failed.length} full checks failed`);
    }
    const tooltip = [...running, ...failed].map((s) => s.message).filter((m) => m).join('\n');
    return { text: parts.length ? ` · ${parts.join(' · ')}` : '', tooltip };
}
