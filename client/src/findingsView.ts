/** The "tfguard Findings" tree in the explorer: findings grouped by severity or by file, with counts. */
import * as vscode from 'vscode';
import { Finding, FindingGroup, GroupBy, groupFindings, normalizeSeverity } from './findings';

type Node =
    | { kind: 'group'; group: FindingGroup; by: GroupBy }
    | { kind: 'plan'; findings: Finding[] }
    | { kind: 'finding'; finding: Finding; by: GroupBy | 'plan' };

function severityIcon(severity: string): vscode.ThemeIcon {
    switch (normalizeSeverity(severity)) {
        case 'CRITICAL':
        case 'HIGH':
            return new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
        case 'MEDIUM':
            return new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        default:
            return new vscode.ThemeIcon('info', new vscode.ThemeColor('problemsInfoIcon.foreground'));
    }
}

export function toVsRange(finding: Finding): vscode.Range {
    const r = finding.range;
    return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

export class FindingsTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
    private findings: Finding[] = [];
    private groupBy: GroupBy;
    /** The reviewed plan's file name, shown on its group (the plan's findings are never mixed into the live groups). */
    private planName = '';
    private readonly changed = new vscode.EventEmitter<Node | undefined>();
    readonly onDidChangeTreeData = this.changed.event;

    constructor(groupBy: GroupBy) {
        this.groupBy = groupBy;
    }

    get all(): readonly Finding[] {
        return this.findings;
    }

    /** The live findings (what the status item counts), without a reviewed plan's. */
    get live(): readonly Finding[] {
        return this.findings.filter((f) => !f.plan);
    }

    setPlanName(name: string): void {
        this.planName = name;
        this.changed.fire(undefined);
    }

    setFindings(findings: Finding[]): void {
        this.findings = findings;
        this.changed.fire(undefined);
    }

    setGroupBy(groupBy: GroupBy): void {
        if (groupBy !== this.groupBy) {
            this.groupBy = groupBy;
            this.changed.fire(undefined);
        }
    }

    getChildren(element?: Node): Node[] {
        if (!element) {
            const by = this.groupBy;
            const nodes: Node[] = groupFindings(this.live, by).map((group) => ({ kind: 'group', group, by }));
            const plan = this.findings.filter((f) => f.plan);
            if (plan.length) {
                nodes.push({ kind: 'plan', findings: plan });
            }
            return nodes;
        }
        if (element.kind === 'group') {
            return element.group.findings.map((finding) => ({ kind: 'finding', finding, by: element.by }));
        }
        if (element.kind === 'plan') {
            return element.findings.map((finding) => ({ kind: 'finding', finding, by: 'plan' }));
        }
        return [];
    }

    getTreeItem(element: Node): vscode.TreeItem {
        if (element.kind === 'plan') {
            const n = element.findings.length;
            const item = new vscode.TreeItem(`Plan review: ${this.planName || 'plan'}`, vscode.TreeItemCollapsibleState.Expanded);
            item.description = `${n}`;
            item.id = 'plan';
            item.iconPath = new vscode.ThemeIcon('checklist');
            item.tooltip = `${n} finding${n === 1 ? '' : 's'} of the reviewed plan (source "tfguard (plan)"); "tfguard: Clear Plan Review" removes them`;
            item.contextValue = 'tfguard.planGroup';
            return item;
        }
        if (element.kind === 'group') {
            const { group, by } = element;
            const label = by === 'severity' ? group.key : vscode.workspace.asRelativePath(vscode.Uri.parse(group.key));
            const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Expanded);
            item.description = `${group.findings.length}`;
            item.id = `group:${by}:${group.key}`;
            if (by === 'severity') {
                item.iconPath = severityIcon(group.key);
            } else {
                item.resourceUri = vscode.Uri.parse(group.key);
                item.iconPath = vscode.ThemeIcon.File;
            }
            item.tooltip = `${group.findings.length} finding${group.findings.length === 1 ? '' : 's'}`;
            return item;
        }
        const f = element.finding;
        const uri = vscode.Uri.parse(f.uri);
        const item = new vscode.TreeItem(`${f.checkId} ${f.resource}`.trim(), vscode.TreeItemCollapsibleState.None);
        const line = f.range.start.line + 1;
        item.description = element.by === 'severity'
            ? `${vscode.workspace.asRelativePath(uri)}:${line}`
            : element.by === 'plan'
                ? `${normalizeSeverity(f.severity)} · ${vscode.workspace.asRelativePath(uri)}:${line}`
                : `${normalizeSeverity(f.severity)} · line ${line}`;
        item.iconPath = severityIcon(f.severity);
        const tooltip = new vscode.MarkdownString();
        tooltip.appendMarkdown(`**${escapeMd(f.checkId)}** (${escapeMd(normalizeSeverity(f.severity))}, priority ${f.priority})\n\n`);
        tooltip.appendText(f.message || f.checkName);
        if (f.plan) {
            tooltip.appendMarkdown('\n\n*From the reviewed plan* ("tfguard: Clear Plan Review" removes it)');
        }
        if (f.guideline) {
            tooltip.appendMarkdown(`\n\n[Guideline](${f.guideline})`);
        }
        item.tooltip = tooltip;
        item.contextValue = f.plan ? 'tfguard.planFinding' : 'tfguard.finding';
        item.command = {
            command: 'vscode.open',
            title: 'Open finding',
            arguments: [uri, { selection: toVsRange(f), preserveFocus: false } satisfies vscode.TextDocumentShowOptions],
        };
        return item;
    }

    dispose(): void {
        this.changed.dispose();
    }
}

function escapeMd(text: string): string {
    return text.replace(/[\\`*_{}[\]()#+\-.!|]/g, '\\$&');
}
