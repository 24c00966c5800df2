/** tfguard VS Code extension: starts `python -m tfguard serve` and shows its findings. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import {
    DidChangeConfigurationNotification,
    ExecuteCommandRequest,
    LanguageClient,
    LanguageClientOptions,
    ResponseError,
    ServerOptions,
    State,
    TransportKind,
} from 'vscode-languageclient/node';
import {
    DIAGNOSTIC_SOURCE,
    DiagnosticLike,
    GroupBy,
    PLAN_DIAGNOSTICS_NOTIFICATION,
    FULL_CHECK_STATUS_NOTIFICATION,
    FullCheckStatus,
    fullCheckSuffix,
    parseFullCheckStatus,
    PLAN_DIAGNOSTIC_SOURCE,
    SERVER_CLEAR_PLAN_COMMAND,
    SERVER_REVIEW_PLAN_COMMAND,
    SERVER_SCAN_COMMAND,
    SERVER_SUPPRESS_COMMAND,
    countBySeverity,
    findingsFromDiagnostics,
    isSuppressArgs,
    parsePlanPayload,
    planSummary,
    summarizeCounts,
} from './findings';
import { FindingsTreeProvider } from './findingsView';
import {
    Bundle,
    PrivateInstallPlan,
    VERSION_PROBE_ARGS,
    checkLockTarget,
    checkPythonVersion,
    manualCommands,
    parseManifest,
    parseServerVersion,
    privateInstallPlan,
    unsupportedPlatformHelp,
} from './install';
import {
    InterpreterCandidate,
    commandLine,
    describeCandidate,
    interpreterCandidates,
    probeCommand,
    serverCommand,
    venvPython,
} from './interpreter';
import { run, RunResult } from './process';
import {
    InitializationOptions,
    PathContext,
    RawSettings,
    ServerSettings,
    configurationAnswer,
    expandPath,
    toInitializationOptions,
    toServerSettings,
    validateSuppressionReason,
} from './settings';

const SECTION = 'tfguard';
const VIEW_ID = 'tfguard.findings';
/** Settings whose workspace values are ignored in Restricted Mode (package.json restrictedConfigurations). */
const RESTRICTED_SETTINGS = ['tfguard.interpreter', 'tfguard.catalogue', 'tfguard.policyDirs', 'tfguard.baseline', 'tfguard.installSource', 'tfguard.wheelhouse'];
const DOCUMENT_SELECTOR = [
    { scheme: 'file', language: 'terraform' },
    { scheme: 'untitled', language: 'terraform' },
    { scheme: 'file', language: 'terraform-vars' },
    { scheme: 'file', pattern: '**/*.tf' },
    { scheme: 'file', pattern: '**/*.tofu' },
    { scheme: 'file', pattern: '**/*.tf.json' },
];

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    controller = new Controller(context);
    context.subscriptions.push(controller);
    controller.registerAll();
    await controller.start();
}

export async function deactivate(): Promise<void> {
    await controller?.stop();
    controller = undefined;
}

interface PythonExtensionApi {
    environments?: {
        getActiveEnvironmentPath?: (resource?: vscode.Uri) => { path: string } | undefined;
        resolveEnvironment?: (env: { path: string } | string) => Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
        onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
    };
    settings?: {
        getExecutionDetails?: (resource?: vscode.Uri) => { execCommand?: string[] } | undefined;
    };
}

class Controller implements vscode.Disposable {
    private readonly log: vscode.LogOutputChannel;
    private readonly status: vscode.StatusBarItem;
    private readonly fullChecks = new Map<string, FullCheckStatus>();
    private readonly tree: FindingsTreeProvider;
    private readonly view: vscode.TreeView<unknown>;
    private readonly disposables: vscode.Disposable[] = [];
    private client: LanguageClient | undefined;
    private interpreter: InterpreterCandidate | undefined;
    private starting: Promise<void> | undefined;
    private refreshTimer: NodeJS.Timeout | undefined;
    private readonly shownProblems = new Set<string>();
    private installing: Promise<void> | undefined;
    private readonly watchers: vscode.FileSystemWatcher[];
    /** Diagnostics of the reviewed plan ("tfguard (plan)"), apart from the live ones. */
    private readonly planDiagnostics: vscode.DiagnosticCollection;
    /** The plan shown (its URI as the server names it), if any. */
    private planUri: string | undefined;
    /** The extension's version: the only server version it runs. */
    private readonly version: string;

    constructor(private readonly context: vscode.ExtensionContext) {
        this.log = vscode.window.createOutputChannel('tfguard', { log: true });
        this.status = vscode.window.createStatusBarItem('tfguard.status', vscode.StatusBarAlignment.Right, 100);
        this.status.name = 'tfguard';
        this.tree = new FindingsTreeProvider(this.groupBy());
        this.view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: this.tree, showCollapseAll: true });
        const version: unknown = (context.extension.packageJSON as { version?: unknown }).version;
        this.version = typeof version === 'string' ? version : '';
        this.watchers = ['**/*.tf', '**/*.tofu', '**/*.tf.json', '**/*.tfvars', '**/.tfguard.yaml', '**/.checkov.yaml']
            .map((glob) => vscode.workspace.createFileSystemWatcher(glob));
        this.planDiagnostics = vscode.languages.createDiagnosticCollection('tfguard-plan');
        this.disposables.push(this.log, this.status, this.tree, this.view, this.planDiagnostics, ...this.watchers);
        this.setStatus('$(sync~spin) tfguard', 'tfguard: starting', 'tfguard.showOutput');
        this.status.show();
    }

    registerAll(): void {
        const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
            this.disposables.push(vscode.commands.registerCommand(id, fn));
        };
        reg('tfguard.scanWorkspace', () => this.scanWorkspace());
        reg('tfguard.showFindings', () => this.showFindings());
        reg('tfguard.restartServer', () => this.restart());
        reg('tfguard.installServer', () => this.installFromCommand());
        reg('tfguard.openConfiguration', () => this.openConfiguration());
        reg('tfguard.showOutput', () => this.log.show(true));
        reg('tfguard.findings.refresh', () => this.refreshFindings());
        reg('tfguard.findings.groupBySeverity', () => this.setGroupBy('severity'));
        reg('tfguard.findings.groupByFile', () => this.setGroupBy('file'));
        // Target of the server's "suppress" code action: ask for a reason, then let the server edit.
        reg('tfguard.suppress', (arg: unknown) => this.suppress(arg));
        // A plan JSON from a file dialog, or the URI/path given (explorer context menu, keybinding args, tests).
        reg('tfguard.reviewPlan', (arg: unknown) => this.reviewPlan(arg));
        reg('tfguard.clearPlan', () => this.clearPlan());
        reg('tfguard.chooseFix', async (arg: unknown) => (await import('./chooseFix')).chooseFix(arg, this.requireClient()));

        this.disposables.push(
            vscode.workspace.onDidChangeConfiguration((e) => {
                if (e.affectsConfiguration('tfguard.interpreter')) {
                    this.log.info('tfguard.interpreter changed: restarting the server');
                    void this.restart();
                } else if (e.affectsConfiguration('tfguard.allowPythonChecks')) {
                    // Only sent in initializationOptions: a new value takes a new server.
                    this.log.info('tfguard.allowPythonChecks changed: restarting the server');
                    void this.restart();
                } else if (e.affectsConfiguration('tfguard.findingsView.groupBy')) {
                    this.tree.setGroupBy(this.groupBy());
                }
                if (e.affectsConfiguration(SECTION)) {
                    // Validate again so the user hears about a bad value when they type it.
                    this.serverSettings(undefined);
                }
            }),
            // The status item and the Findings view follow the diagnostics VS Code holds, whether
            // the server pushed them or VS Code pulled them: they show what the Problems panel shows.
            vscode.languages.onDidChangeDiagnostics(() => this.scheduleRefresh()),
            vscode.workspace.onDidGrantWorkspaceTrust(() => {
                this.log.info('The workspace is trusted now: restarting the server with its settings');
                void this.restart();
            }),
        );
        void this.watchPythonExtension();
    }

    // ---------------------------------------------------------------- settings

    private pathContext(scope: vscode.Uri | undefined): PathContext {
        const folder = scope ? vscode.workspace.getWorkspaceFolder(scope) : vscode.workspace.workspaceFolders?.[0];
        return { workspaceFolder: folder?.uri.fsPath, home: os.homedir() };
    }

    /** Settings for the server, validated; problems are logged and shown once each. */
    private serverSettings(scope: vscode.Uri | undefined): ServerSettings {
        const { settings, problems } = toServerSettings(this.rawSettings(scope), this.pathContext(scope));
        this.reportProblems(problems);
        return settings;
    }

    /**
     * initializationOptions: the settings above plus `allowPythonChecks`, read from the user's
     * settings only (never a workspace's: it makes the server run code).
     */
    private initializationOptions(): InitializationOptions {
        const userValue = vscode.workspace.getConfiguration(SECTION).inspect('allowPythonChecks')?.globalValue;
        const { options, problems } = toInitializationOptions(this.rawSettings(undefined), userValue, this.pathContext(undefined));
        this.reportProblems(problems);
        if (options.allowPythonChecks.length > 0) {
            this.log.warn(`Python custom checks allowed by the user setting tfguard.allowPythonChecks: ${options.allowPythonChecks.join(', ')}`);
        }
        return options;
    }

    private rawSettings(scope: vscode.Uri | undefined): RawSettings {
        const cfg = vscode.workspace.getConfiguration(SECTION, scope ?? vscode.workspace.workspaceFolders?.[0]?.uri);
        return {
            enable: cfg.get('enable'),
            minimumSeverity: cfg.get('minimumSeverity'),
            idleDelayMs: cfg.get('idleDelayMs'),
            catalogue: cfg.get('catalogue'),
            policyDirs: cfg.get('policyDirs'),
            skipReasonPlaceholder: cfg.get('skipReasonPlaceholder'),
            baseline: cfg.get('baseline'),
            baselineMode: cfg.get('baselineMode'),
            moduleTimeBudgetMs: cfg.get('moduleTimeBudgetMs'),
            maxFileBytes: cfg.get('maxFileBytes'),
            indexWorkspace: cfg.get('indexWorkspace'),
            severityLevels: cfg.get('severityLevels'),
        };
    }

    private reportProblems(problems: string[]): void {
        for (const problem of problems) {
            this.log.warn(problem);
            if (!this.shownProblems.has(problem)) {
                this.shownProblems.add(problem);
                void vscode.window.showWarningMessage(problem, 'Open Settings').then((choice) => {
                    if (choice) {
                        void vscode.commands.executeCommand('workbench.action.openSettings', '@ext:tfguard.tfguard');
                    }
                });
            }
        }
    }

    private groupBy(): GroupBy {
        return vscode.workspace.getConfiguration(SECTION).get<string>('findingsView.groupBy') === 'file' ? 'file' : 'severity';
    }

    private async setGroupBy(by: GroupBy): Promise<void> {
        this.tree.setGroupBy(by);
        await vscode.workspace.getConfiguration(SECTION).update('findingsView.groupBy', by, vscode.ConfigurationTarget.Global);
    }

    // ------------------------------------------------------------- interpreter

    private privateEnvironmentDir(): string {
        return path.join(this.context.globalStorageUri.fsPath, 'venv');
    }

    private async pythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
        const ext = vscode.extensions.getExtension('ms-python.python');
        if (!ext) {
            return undefined;
        }
        try {
            return (ext.isActive ? ext.exports : await ext.activate()) as PythonExtensionApi | undefined;
        } catch (error) {
            this.log.warn(`The Python extension could not be activated: ${String(error)}`);
            return undefined;
        }
    }

    private async pythonExtensionCommand(resource: vscode.Uri | undefined): Promise<string[] | undefined> {
        const api = await this.pythonExtensionApi();
        if (!api) {
            return undefined;
        }
        try {
            const envs = api.environments;
            if (envs?.getActiveEnvironmentPath && envs.resolveEnvironment) {
                const active = envs.getActiveEnvironmentPath(resource);
                const resolved = active ? await envs.resolveEnvironment(active) : undefined;
                const exe = resolved?.executable?.uri?.fsPath;
                if (exe) {
                    return [exe];
                }
            }
            const exec = api.settings?.getExecutionDetails?.(resource)?.execCommand;
            if (Array.isArray(exec) && exec.every((p) => typeof p === 'string')) {
                return exec;
            }
        } catch (error) {
            this.log.warn(`Could not read the Python extension's interpreter: ${String(error)}`);
        }
        return undefined;
    }

    private async watchPythonExtension(): Promise<void> {
        if (!vscode.extensions.getExtension('ms-python.python')) {
            return;
        }
        const api = await this.pythonExtensionApi();
        const event = api?.environments?.onDidChangeActiveEnvironmentPath;
        if (event) {
            this.disposables.push(event(() => {
                if (this.interpreter?.source === 'pythonExtension' || !this.client) {
                    this.log.info('The Python extension selected another interpreter: restarting the server');
                    void this.restart();
                }
            }));
        }
    }

    private async candidates(): Promise<InterpreterCandidate[]> {
        const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
        const setting = vscode.workspace.getConfiguration(SECTION, resource).get<string>('interpreter');
        const { candidates, problems } = interpreterCandidates({
            setting,
            pythonExtensionCommand: setting?.trim() ? undefined : await this.pythonExtensionCommand(resource),
            privateEnvironmentPython: venvPython(this.privateEnvironmentDir(), process.platform),
            pathEnv: process.env.PATH,
            pathExt: process.env.PATHEXT,
            platform: process.platform,
            isExecutable,
            paths: this.pathContext(resource),
        });
        this.reportProblems(problems);
        return candidates;
    }

    // --------------------------------------------------------------- lifecycle

    async start(): Promise<void> {
        if (!this.starting) {
            this.starting = this.doStart().finally(() => {
                this.starting = undefined;
            });
        }
        return this.starting;
    }

    private async doStart(): Promise<void> {
        this.setStatus('$(sync~spin) tfguard', 'tfguard: looking for a Python interpreter with tfguard', 'tfguard.showOutput');
        const candidates = await this.candidates();
        let usable: InterpreterCandidate | undefined;
        let otherVersion: { candidate: InterpreterCandidate; version: string } | undefined;
        for (const candidate of candidates) {
            const probe = probeCommand(candidate);
            const result = await run(probe.command, probe.args, { timeoutMs: 60_000 });
            if (result.code === 0) {
                const version = parseServerVersion(result.stdout) ?? '?';
                if (version === this.version) {
                    this.log.info(`Using ${describeCandidate(candidate)}: tfguard ${version}`);
                    usable = candidate;
                    break;
                }
                // A server of another version may not understand this client: never run it.
                this.log.warn(`${describeCandidate(candidate)} has tfguard ${version}; this extension needs tfguard ${this.version}`);
                otherVersion ??= { candidate, version };
            } else if (result.spawnError) {
                this.log.info(`Cannot run ${describeCandidate(candidate)}: ${result.spawnError}`);
            } else {
                this.log.info(`${describeCandidate(candidate)} cannot import tfguard: ${lastLine(result.stderr)}`);
            }
        }
        if (!usable) {
            this.interpreter = undefined;
            const text = otherVersion ? `$(warning) tfguard: server ${otherVersion.version} ≠ ${this.version}` : '$(warning) tfguard: not installed';
            this.setStatus(text, 'The tfguard server is not installed for this extension version: click to install it', 'tfguard.installServer');
            this.view.message = 'The tfguard language server is not running. Click the tfguard status item, or run "tfguard: Install Server", to set it up.';
            // Not awaited: the start-up ends here, so "Restart Server", the status item and the
            // install itself (which starts the server) never wait on an unanswered notification.
            void this.promptInstall(candidates, otherVersion);
            return;
        }
        this.interpreter = usable;
        this.view.message = undefined;
        await this.startClient(usable);
    }

    private async startClient(candidate: InterpreterCandidate): Promise<void> {
        const cmd = serverCommand(candidate);
        const serverOptions: ServerOptions = {
            command: cmd.command,
            args: cmd.args,
            transport: TransportKind.stdio,
            options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
        };

        const clientOptions: LanguageClientOptions = {
            // The HashiCorp extension's ids (terraform, terraform-vars) and, by pattern, what no
            // language may claim (.tofu without an OpenTofu extension, .tf.json is JSON).
            documentSelector: DOCUMENT_SELECTOR,
            synchronize: { configurationSection: SECTION, fileEvents: this.watchers },
            outputChannel: this.log,
            diagnosticCollectionName: DIAGNOSTIC_SOURCE,
            initializationOptions: () => this.initializationOptions(),
            initializationFailedHandler: (error: unknown) => {
                this.log.error(`The tfguard server failed to initialize: ${String(error)}`);
                void this.showError('The tfguard server failed to start.');
                return false;
            },
            middleware: {
                workspace: {
                    // Answer `workspace/configuration` for "tfguard" with the validated shape the server expects.
                    configuration: async (params, token, next) => {
                        const defaults: unknown = await next(params, token);
                        if (!Array.isArray(defaults)) {
                            return defaults as ResponseError<void>;
                        }
                        // allowPythonChecks is never part of these answers (initializationOptions only).
                        return params.items.map((item, i): unknown => configurationAnswer(
                            item.section,
                            (defaults as unknown[])[i],
                            () => this.serverSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined),
                            SECTION,
                        ));
                    },
                    // No values: the server pulls them again per workspace folder (workspace/configuration
                    // with a scopeUri each), so a folder's settings never leak into another folder.
                    didChangeConfiguration: async () => {
                        await this.client?.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
                    },
                },
            },
        };

        const client = new LanguageClient(SECTION, 'tfguard', serverOptions, clientOptions);
        this.client = client;
        // Loaded, cleared, or the plan file changed on disk (the server then sends no files).
        client.onNotification(PLAN_DIAGNOSTICS_NOTIFICATION, (payload: unknown) => {
            void this.applyPlan(client, payload);
        });
        // Each folder's full check (the authoritative result): the status item says while one runs or failed.
        this.fullChecks.clear();
        client.onNotification(FULL_CHECK_STATUS_NOTIFICATION, (payload: unknown) => {
            const status = parseFullCheckStatus(payload);
            if (status && this.client === client) {
                this.fullChecks.set(status.folder, status);
                if (status.message) {
                    this.log.info(`tfguard: ${status.message}`);
                }
                this.updateStatusFromFindings();
            }
        });
        client.onDidChangeState((e) => {
            if (e.newState === State.Running) {
                this.updateStatusFromFindings();
            } else if (e.newState === State.Stopped && this.client === client) {
                this.setStatus('$(error) tfguard: stopped', 'The tfguard server stopped: click to restart', 'tfguard.restartServer');
            }
        });
        this.setStatus('$(sync~spin) tfguard', `tfguard: starting ${commandLine(cmd, process.platform)}`, 'tfguard.showOutput');
        try {
            await client.start();
            this.log.info(`tfguard server started: ${commandLine(cmd, process.platform)}`);
            this.scheduleRefresh();
        } catch (error) {
            this.log.error(`Could not start ${commandLine(cmd, process.platform)}: ${String(error)}`);
            this.setStatus('$(error) tfguard: stopped', 'The tfguard server could not start: click to restart', 'tfguard.restartServer');
            await this.showError('The tfguard server could not start.');
        }
    }

    async stop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        this.setPlan(undefined); // a new server knows no plan
        if (client) {
            try {
                await client.stop();
            } catch (error) {
                this.log.warn(`Stopping the server: ${String(error)}`);
            }
        }
    }

    async restart(): Promise<void> {
        await this.starting;
        await this.stop();
        this.tree.setFindings([]);
        await this.start();
    }

    // ------------------------------------------------------------------ install

    /** The server bundled in the .vsix (client/server/), if this build has one. */
    private bundle(): { bundle?: Bundle; requirements?: string; problem?: string } {
        const dir = path.join(this.context.extensionPath, 'client', 'server');
        let manifest: string;
        try {
            manifest = fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8');
        } catch {
            return { problem: `no bundled server in ${dir}` };
        }
        const { bundle, problem } = parseManifest(manifest, dir);
        if (!bundle) {
            return { problem };
        }
        try {
            return { bundle, requirements: fs.readFileSync(bundle.requirementsPath, 'utf8') };
        } catch (error) {
            return { problem: `cannot read ${bundle.requirementsPath}: ${String(error)}` };
        }
    }

    private requirementsFile(): string {
        return path.join(this.context.globalStorageUri.fsPath, 'tfguard-requirements.txt');
    }

    private plan(base: InterpreterCandidate): { plan?: PrivateInstallPlan; problem?: string } {
        const cfg = vscode.workspace.getConfiguration(SECTION);
        const installSource = cfg.get<string>('installSource') ?? '';
        const wheelhouseRaw = cfg.get<string>('wheelhouse') ?? '';
        const ctx = this.pathContext(undefined);
        const wheelhouse = wheelhouseRaw.trim() ? expandPath(wheelhouseRaw, ctx) : undefined;
        const source = installSource.trim() ? expandPath(installSource, ctx) : undefined;
        const b = installSource.trim() ? {} : this.bundle();
        if (b.problem) {
            this.log.warn(b.problem);
        }
        return privateInstallPlan({
            base,
            venvDir: this.privateEnvironmentDir(),
            requirementsFile: this.requirementsFile(),
            bundle: b.bundle,
            bundledRequirements: b.requirements,
            wheelhouse,
            installSource: source,
            platform: process.platform,
        });
    }

    /**
     * The first candidate that runs a Python >= 3.11 (the private environment's own python excluded),
     * preferring one the bundled lock serves (`lockTarget`, e.g. CPython 3.11 on Linux x86_64);
     * `lockProblem` says why the chosen one does not fit the lock (then only an explicit
     * tfguard.installSource can be installed with it).
     */
    private async baseInterpreter(
        candidates: InterpreterCandidate[], lockTarget: string,
    ): Promise<{ base?: InterpreterCandidate; problems: string[]; lockProblem?: string }> {
        const problems: string[] = [];
        let fallback: { base: InterpreterCandidate; lockProblem: string } | undefined;
        for (const c of candidates) {
            if (c.source === 'privateEnvironment') {
                continue;
            }
            const result = await run(c.command, [...c.args, ...VERSION_PROBE_ARGS], { timeoutMs: 30_000 });
            if (result.code !== 0) {
                continue;
            }
            const name = [c.command, ...c.args].join(' ');
            const check = checkPythonVersion(result.stdout, name);
            if (!check.ok) {
                problems.push(check.problem ?? '');
                this.log.info(check.problem ?? '');
                continue;
            }
            const lockProblem = checkLockTarget(result.stdout, lockTarget, name);
            if (!lockProblem) {
                return { base: c, problems };
            }
            this.log.info(lockProblem);
            fallback ??= { base: c, lockProblem };
        }
        return fallback ? { ...fallback, problems } : { problems };
    }

    private async promptInstall(candidates: InterpreterCandidate[], otherVersion?: { candidate: InterpreterCandidate; version: string }): Promise<void> {
        const fromSetting = candidates.some((c) => c.source === 'setting');
        const INSTALL = 'Install into private environment';
        const SHOW = 'Show command';
        if (fromSetting) {
            const c = candidates[0];
            const message = otherVersion
                ? `${c.command} (tfguard.interpreter) has tfguard ${otherVersion.version}; this extension needs tfguard ${this.version}.`
                : `The Python package "tfguard" is not installed for ${c.command} (tfguard.interpreter).`;
            const choice = await vscode.window.showWarningMessage(message, 'Open Settings', 'Show Output');
            if (choice === 'Open Settings') {
                await vscode.commands.executeCommand('workbench.action.openSettings', 'tfguard.interpreter');
            } else if (choice === 'Show Output') {
                this.log.show(true);
            }
            return;
        }
        const message = otherVersion
            ? `tfguard ${otherVersion.version} is installed, but this extension needs its own server, tfguard ${this.version}. Reinstall it into tfguard's private environment?`
            : 'tfguard needs its language server. Install the server bundled with the extension into a private Python environment?';
        const choice = await vscode.window.showInformationMessage(message, otherVersion ? 'Reinstall' : INSTALL, SHOW);
        if (choice === INSTALL || choice === 'Reinstall') {
            await this.installPrivateEnvironment(candidates);
        } else if (choice === SHOW) {
            await this.showInstallCommands(candidates);
        } else {
            this.log.warn('tfguard is not installed; the server is not running. Click the tfguard status item to install it.');
        }
    }

    private async installFromCommand(): Promise<void> {
        await this.installPrivateEnvironment(await this.candidates());
    }

    private async noPython(problems: string[]): Promise<void> {
        const detail = problems.length ? ` (${problems.join(' ')})` : '';
        this.log.error(`No Python 3.11 or later found to create tfguard's private environment${detail}.`);
        const choice = await vscode.window.showErrorMessage(
            `tfguard needs Python 3.11 or later, and none was found${detail}. Install Python 3.11+ or set "tfguard.interpreter".`,
            'Open Settings', 'Show Output',
        );
        if (choice === 'Open Settings') {
            await vscode.commands.executeCommand('workbench.action.openSettings', 'tfguard.interpreter');
        } else if (choice === 'Show Output') {
            this.log.show(true);
        }
    }

    /** The first usable interpreter and its install plan; undefined (the user told why) when there is none. */
    private async installPlan(
        candidates: InterpreterCandidate[],
    ): Promise<{ base: InterpreterCandidate; plan: PrivateInstallPlan } | undefined> {
        const lockTarget = this.bundle().bundle?.lockTarget ?? '';
        const { base, problems, lockProblem } = await this.baseInterpreter(candidates, lockTarget);
        if (!base) {
            await this.noPython(problems);
            return undefined;
        }
        const { plan, problem } = this.plan(base);
        if (!plan) {
            await this.showError(`tfguard cannot be installed: ${problem}`);
            return undefined;
        }
        if (lockProblem && plan.requirementsText !== undefined) {
            // Checked before anything is installed: pip would only fail on a missing wheel minutes later.
            await this.unsupportedPlatform(lockProblem, lockTarget);
            return undefined;
        }
        return { base, plan };
    }

    private async unsupportedPlatform(problem: string, lockTarget: string): Promise<void> {
        const help = unsupportedPlatformHelp(lockTarget);
        this.log.error(`tfguard cannot install its bundled server here: ${problem}\n${help}`);
        this.setStatus('$(warning) tfguard: not installed', `Unsupported interpreter or platform for the bundled server: ${problem}`, 'tfguard.showOutput');
        const choice = await vscode.window.showErrorMessage(
            `tfguard cannot install its bundled server: ${problem} ${help}`,
            'Open Settings', 'Show Output',
        );
        if (choice === 'Open Settings') {
            await vscode.commands.executeCommand('workbench.action.openSettings', 'tfguard.interpreter');
        } else if (choice === 'Show Output') {
            this.log.show(true);
        }
    }

    private async showInstallCommands(candidates: InterpreterCandidate[]): Promise<void> {
        const { plan } = (await this.installPlan(candidates)) ?? {};
        if (!plan) {
            return;
        }
        if (plan.requirementsText !== undefined) {
            await fs.promises.mkdir(this.context.globalStorageUri.fsPath, { recursive: true });
            await fs.promises.writeFile(this.requirementsFile(), plan.requirementsText);
        }
        const text = manualCommands(plan, this.requirementsFile(), process.platform);
        this.log.info(`Commands to install tfguard:\n${text}`);
        this.log.show(true);
        const choice = await vscode.window.showInformationMessage(
            'Install tfguard with these commands, then run "tfguard: Restart Server".',
            { modal: true, detail: text },
            'Copy',
        );
        if (choice === 'Copy') {
            await vscode.env.clipboard.writeText(text);
        }
    }

    private installPrivateEnvironment(candidates: InterpreterCandidate[]): Promise<void> {
        this.installing ??= this.doInstall(candidates).finally(() => {
            this.installing = undefined;
        });
        return this.installing;
    }

    private async doInstall(candidates: InterpreterCandidate[]): Promise<void> {
        const ready = await this.installPlan(candidates);
        if (!ready) {
            return;
        }
        const { base, plan } = ready;
        const venvDir = this.privateEnvironmentDir();
        const manual = manualCommands(plan, this.requirementsFile(), process.platform);
        this.setStatus('$(sync~spin) tfguard: installing', `Installing ${plan.what} into ${venvDir}`, 'tfguard.showOutput');
        const failure: RunResult | undefined = await vscode.window.withProgress({
            location: vscode.ProgressLocation.Notification,
            title: 'tfguard',
            cancellable: true,
        }, async (progress, token) => {
            await fs.promises.mkdir(this.context.globalStorageUri.fsPath, { recursive: true });
            if (plan.requirementsText !== undefined) {
                await fs.promises.writeFile(this.requirementsFile(), plan.requirementsText);
            }
            const steps: [string, { command: string; args: string[] }][] = [];
            if (!isExecutable(plan.python)) {
                steps.push([`Creating a private Python environment with ${base.command}…`, plan.createVenv]);
            }
            steps.push([`Installing ${plan.what} (this can take a few minutes)…`, plan.pipInstall]);
            for (const [title, cmd] of steps) {
                progress.report({ message: title });
                this.log.info(`$ ${commandLine(cmd, process.platform)}`);
                const result = await run(cmd.command, cmd.args, {
                    token,
                    onOutput: (chunk) => this.log.append(chunk),
                });
                if (result.code !== 0) {
                    return result;
                }
            }
            return undefined;
        });
        if (failure) {
            const detail = failure.cancelled ? 'cancelled' : failure.spawnError ?? `exit code ${failure.code}`;
            this.log.error(`Installing tfguard failed (${detail}). To install it by hand:\n${manual}`);
            this.setStatus('$(warning) tfguard: not installed', 'Installing tfguard failed: click to try again', 'tfguard.installServer');
            if (failure.cancelled) {
                return;
            }
            let hint = lastLine(failure.stderr || failure.stdout);
            if (/ensurepip is not available|No module named venv/.test(failure.stderr + failure.stdout)) {
                hint = 'This Python has no venv module (on Debian/Ubuntu: apt install python3-venv).';
            }
            const choice = await vscode.window.showErrorMessage(
                `Installing tfguard failed: ${hint} To install it by hand, run: ${manual.split('\n').filter((l) => !l.startsWith('#')).join(' && ')}`,
                'Show Log', 'Copy Commands',
            );
            if (choice === 'Show Log') {
                this.log.show(true);
            } else if (choice === 'Copy Commands') {
                await vscode.env.clipboard.writeText(manual);
            }
            return;
        }
        this.log.info(`tfguard installed into ${venvDir}`);
        void vscode.window.showInformationMessage(`tfguard ${this.version} is installed; starting the server.`);
        await this.restart();
    }

    // ---------------------------------------------------------------- features

    private requireClient(): LanguageClient | undefined {
        if (this.client && this.client.state === State.Running) {
            return this.client;
        }
        void vscode.window.showWarningMessage('The tfguard server is not running.', 'Restart Server', 'Show Output').then((choice) => {
            if (choice === 'Restart Server') {
                void this.restart();
            } else if (choice === 'Show Output') {
                this.log.show(true);
            }
        });
        return undefined;
    }

    private async scanWorkspace(): Promise<void> {
        const client = this.requireClient();
        if (!client) {
            return;
        }
        try {
            const result: unknown = await vscode.window.withProgress(
                { location: vscode.ProgressLocation.Window, title: 'tfguard: scanning workspace' },
                () => client.sendRequest(ExecuteCommandRequest.type, { command: SERVER_SCAN_COMMAND, arguments: [] }),
            );
            await this.refreshFindings();
            const r = (result ?? {}) as { files?: unknown; findings?: unknown };
            const files = typeof r.files === 'number' ? r.files : undefined;
            const findings = typeof r.findings === 'number' ? r.findings : this.tree.all.length;
            const text = files !== undefined
                ? `tfguard scanned ${files} file${files === 1 ? '' : 's'}: ${findings} finding${findings === 1 ? '' : 's'}.`
                : `tfguard scan finished: ${findings} finding${findings === 1 ? '' : 's'}.`;
            const choice = await vscode.window.showInformationMessage(text, 'Show Findings');
            if (choice) {
                await this.showFindings();
            }
        } catch (error) {
            this.log.error(`Workspace scan failed: ${String(error)}`);
            await this.showError('tfguard could not scan the workspace.');
        }
    }

    private async suppress(arg: unknown): Promise<void> {
        const target: unknown = Array.isArray(arg) ? (arg as unknown[])[0] : arg;
        if (!isSuppressArgs(target)) {
            this.log.error(`tfguard.suppress called with unexpected arguments: ${JSON.stringify(arg)}`);
            return;
        }
        const client = this.requireClient();
        if (!client) {
            return;
        }
        const placeholder = this.serverSettings(vscode.Uri.parse(target.uri)).skipReasonPlaceholder;
        const reason = await vscode.window.showInputBox({
            title: `Suppress ${target.checkId}`,
            prompt: `Why is ${target.checkId} acceptable for ${target.resource || 'this resource'}? The reason is written next to the suppression.`,
            placeHolder: placeholder ?? 'e.g. public bucket serves the static website',
            ignoreFocusOut: true,
            validateInput: validateSuppressionReason,
        });
        if (reason === undefined) {
            return; // the user dismissed the box
        }
        try {
            await client.sendRequest(ExecuteCommandRequest.type, {
                command: SERVER_SUPPRESS_COMMAND,
                arguments: [{ ...target, reason: reason.trim() }],
            });
        } catch (error) {
            this.log.error(`Suppressing ${target.checkId} failed: ${String(error)}`);
            await this.showError(`tfguard could not suppress ${target.checkId}.`);
        }
    }

    // -------------------------------------------------------------- plan review

    private async reviewPlan(arg: unknown): Promise<void> {
        if (!vscode.workspace.isTrusted) {
            // The command reads a file the workspace may point at and runs every check on it:
            // like the settings that point at files, not in Restricted Mode (package.json enablement too).
            await vscode.window.showWarningMessage('tfguard: Review Plan needs a trusted workspace (it reads the plan file you give it).', 'Manage Workspace Trust')
                .then((choice) => choice ? vscode.commands.executeCommand('workbench.trust.manage') : undefined);
            return;
        }
        const client = this.requireClient();
        if (!client) {
            return;
        }
        let plan = planArgument(arg);
        if (!plan) {
            const picked = await vscode.window.showOpenDialog({
                title: 'tfguard: Review a Terraform plan (terraform show -json tfplan > tfplan.json)',
                openLabel: 'Review Plan',
                canSelectFiles: true,
                canSelectFolders: false,
                canSelectMany: false,
                defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
                filters: { 'Terraform plan (JSON)': ['json'], 'All files': ['*'] },
            });
            plan = picked?.[0];
        }
        if (!plan) {
            return; // dismissed
        }
        const name = path.basename(plan.fsPath);
        try {
            const result: unknown = await vscode.window.withProgress(
                { location: vscode.ProgressLocation.Notification, title: `tfguard: reviewing ${name}` },
                () => client.sendRequest(ExecuteCommandRequest.type, {
                    command: SERVER_REVIEW_PLAN_COMMAND,
                    arguments: [{ plan: plan.toString() }],
                }),
            );
            const payload = await this.applyPlan(client, result);
            if (!payload) {
                throw new Error(`unexpected answer ${JSON.stringify(result)}`);
            }
            const text = planSummary(payload, name);
            this.log.info(text);
            if (payload.error) {
                await this.showError(text);
                return;
            }
            const choice = await vscode.window.showInformationMessage(text, 'Show Findings', 'Clear Plan Review');
            if (choice === 'Show Findings') {
                await this.showFindings();
            } else if (choice === 'Clear Plan Review') {
                await this.clearPlan();
            }
        } catch (error) {
            this.log.error(`Reviewing ${plan.fsPath} failed: ${String(error)}`);
            await this.showError(`tfguard could not review ${name}.`);
        }
    }

    private async clearPlan(): Promise<void> {
        const client = this.client && this.client.state === State.Running ? this.client : undefined;
        if (client) {
            try {
                await this.applyPlan(client, await client.sendRequest(ExecuteCommandRequest.type, { command: SERVER_CLEAR_PLAN_COMMAND, arguments: [] }));
            } catch (error) {
                this.log.warn(`Clearing the plan review on the server: ${String(error)}`);
            }
        }
        this.setPlan(undefined);
    }

    /** Shows a plan payload (command result or notification) in the plan's own diagnostic collection. */
    private async applyPlan(client: LanguageClient, value: unknown): Promise<ReturnType<typeof parsePlanPayload>> {
        const payload = parsePlanPayload(value);
        if (!payload || client !== this.client) {
            return payload;
        }
        if (payload.files.length === 0) {
            if (payload.reason === 'changed') {
                this.log.info(`${payload.plan ?? 'The plan'} changed on disk: its findings are cleared; review it again to see them.`);
            }
            this.setPlan(undefined);
            return payload;
        }
        const entries: [vscode.Uri, vscode.Diagnostic[]][] = [];
        for (const file of payload.files) {
            const diagnostics = await client.protocol2CodeConverter.asDiagnostics(file.diagnostics as Parameters<typeof client.protocol2CodeConverter.asDiagnostics>[0]);
            for (const d of diagnostics) {
                d.source = PLAN_DIAGNOSTIC_SOURCE;
            }
            entries.push([client.protocol2CodeConverter.asUri(file.uri), diagnostics]);
        }
        this.setPlan(payload.plan ?? undefined, entries);
        return payload;
    }

    private setPlan(planUri: string | undefined, entries: [vscode.Uri, vscode.Diagnostic[]][] = []): void {
        this.planDiagnostics.clear();
        if (entries.length) {
            this.planDiagnostics.set(entries);
        }
        this.planUri = entries.length ? planUri : undefined;
        this.tree.setPlanName(this.planUri ? path.basename(vscode.Uri.parse(this.planUri).fsPath) : '');
        void vscode.commands.executeCommand('setContext', 'tfguard.planLoaded', this.planUri !== undefined);
        this.scheduleRefresh();
    }

    private async showFindings(): Promise<void> {
        await vscode.commands.executeCommand(`${VIEW_ID}.focus`);
        await this.refreshFindings();
    }

    private async openConfiguration(): Promise<void> {
        const files = await vscode.workspace.findFiles('**/{.tfguard.yaml,.checkov.yaml}', '**/node_modules/**', 20);
        const SETTINGS = 'Settings (tfguard.*)';
        const picks = [...files.map((f) => vscode.workspace.asRelativePath(f)), SETTINGS];
        const choice = picks.length === 1 ? SETTINGS : await vscode.window.showQuickPick(picks, { title: 'tfguard configuration' });
        if (choice === undefined) {
            return;
        }
        if (choice === SETTINGS) {
            await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:tfguard.tfguard');
            return;
        }
        await vscode.window.showTextDocument(files[picks.indexOf(choice)]);
    }

    // ---------------------------------------------------------------- findings

    private scheduleRefresh(): void {
        if (this.refreshTimer) {
            clearTimeout(this.refreshTimer);
        }
        this.refreshTimer = setTimeout(() => {
            this.refreshTimer = undefined;
            void this.refreshFindings();
        }, 300);
    }

    /** The Findings view and status item show the diagnostics VS Code holds (what the Problems panel lists). */
    private async refreshFindings(): Promise<void> {
        const entries = vscode.languages.getDiagnostics()
            .map(([uri, diagnostics]) => [uri.toString(), diagnostics.map(toDiagnosticLike)] as const);
        this.tree.setFindings(findingsFromDiagnostics(entries));
        this.updateStatusFromFindings();
        return Promise.resolve();
    }

    private updateStatusFromFindings(): void {
        if (!this.client || this.client.state !== State.Running) {
            return;
        }
        // The live findings; a reviewed plan's are told apart ("plan N"), never added into these counts.
        const counts = countBySeverity(this.tree.live);
        const planned = this.tree.all.length - this.tree.live.length;
        const summary = summarizeCounts(counts) + (planned ? ` · plan ${planned}` : '');
        const total = this.tree.all.length;
        const restricted = vscode.workspace.isTrusted ? '' : ' (Restricted Mode)';
        const restrictedTip = vscode.workspace.isTrusted ? '' : `\n\nRestricted Mode: tfguard checks this workspace but ignores its values of ${RESTRICTED_SETTINGS.join(', ')} (they point at programs or files outside it); your user settings apply.`;
        const check = fullCheckSuffix([...this.fullChecks.values()]);
        const checkTip = check.tooltip ? `\n\n${check.tooltip}` : '';
        this.setStatus(`$(shield) tfguard: ${summary}${check.text}${restricted}`, `tfguard: ${summary} (interpreter ${this.interpreter?.command ?? '?'}). Click to show findings.${checkTip}${restrictedTip}`, 'tfguard.showFindings');
        this.view.badge = total > 0 ? { value: total, tooltip: `${total} tfguard finding${total === 1 ? '' : 's'}` } : undefined;
    }

    // ------------------------------------------------------------------- misc

    private setStatus(text: string, tooltip: string, command: string): void {
        this.status.text = text;
        this.status.tooltip = tooltip;
        this.status.command = command;
    }

    private async showError(message: string): Promise<void> {
        const choice = await vscode.window.showErrorMessage(message, 'Show Output');
        if (choice) {
            this.log.show(true);
        }
    }

    dispose(): void {
        if (this.refreshTimer) {
            clearTimeout(this.refreshTimer);
        }
        for (const d of this.disposables) {
            d.dispose();
        }
    }
}

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, process.platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/** The plan named by a command argument: a vscode.Uri, a `file:` URI string or a path (else undefined). */
function planArgument(arg: unknown): vscode.Uri | undefined {
    const value: unknown = Array.isArray(arg) ? (arg as unknown[])[0] : arg;
    if (value instanceof vscode.Uri) {
        return value;
    }
    if (typeof value === 'string' && value.trim()) {
        return /^[a-z][a-z0-9+.-]+:\/\//i.test(value) ? vscode.Uri.parse(value) : vscode.Uri.file(value);
    }
    if (typeof value === 'object' && value !== null && typeof (value as { plan?: unknown }).plan === 'string') {
        return planArgument((value as { plan: string }).plan);
    }
    return undefined;
}

function lastLine(text: string): string {
    const lines = text.trim().split(/\r?\n/);
    return lines[lines.length - 1] ?? '';
}

function toDiagnosticLike(d: vscode.Diagnostic): DiagnosticLike {
    return {
        range: d.range,
        message: d.message,
        severity: d.severity,
        source: d.source,
        code: d.code,
        data: (d as vscode.Diagnostic & { data?: unknown }).data,
    };
}
