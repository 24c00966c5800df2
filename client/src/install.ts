/**
 * Pure plan of "Install into private environment": the .vsix carries tfguard's own wheel
 * (client/server/, built by `npm run package`) and a hash-pinned requirements file for Checkov and
 * the rest. The plan creates a virtual environment in the extension's global storage and installs
 * exactly those files with `pip install --require-hashes`; with `tfguard.wheelhouse` set, pip reads
 * nothing but that folder (`--no-index --find-links`). By default nothing is installed by name from
 * an index. No `vscode` import: unit tested with plain objects.
 */
import * as path from 'path';
import { InterpreterCandidate, commandLine, venvPython } from './interpreter';

export const MIN_PYTHON: readonly [number, number] = [3, 11];

/** client/server/manifest.json, written by scripts/package-vsix.sh. */
export interface BundleManifest {
    version: string;
    wheel: string;
    sha256: string;
    requirements: string;
    requiresPython?: string;
    lockTarget?: string;
}

/** The bundled server with absolute paths. */
export interface Bundle {
    version: string;
    wheelPath: string;
    sha256: string;
    requirementsPath: string;
    lockTarget: string;
}

export function parseManifest(text: string, dir: string): { bundle?: Bundle; problem?: string } {
    let data: unknown;
    try {
        data = JSON.parse(text);
    } catch (error) {
        return { problem: `the bundled server manifest is not JSON (${String(error)})` };
    }
    const m = data as Partial<BundleManifest>;
    if (typeof m !== 'object' || m === null || typeof m.version !== 'string' || typeof m.wheel !== 'string'
        || typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256) || typeof m.requirements !== 'string') {
        return { problem: 'the bundled server manifest lacks version, wheel, sha256 or requirements' };
    }
    return {
        bundle: {
            version: m.version,
            wheelPath: path.join(dir, m.wheel),
            sha256: m.sha256,
            requirementsPath: path.join(dir, m.requirements),
            lockTarget: typeof m.lockTarget === 'string' ? m.lockTarget : '',
        },
    };
}

/**
 * Arguments that print the interpreter's version as `major.minor.micro`, then its implementation and
 * platform (`3.11.7 cpython linux-x86_64`): what {@link checkPythonVersion} and {@link checkLockTarget} read.
 */
export const VERSION_PROBE_ARGS = ['-c', 'import sys, sysconfig; print("%d.%d.%d" % sys.version_info[:3], sys.implementation.name, sysconfig.get_platform())'];

/** The interpreter and platform the bundled lock was made for (manifest lockTarget, e.g. `CPython 3.11, Linux x86_64`). */
export interface LockTarget {
    implementation: string;
    python: string;
    platform: string;
    text: string;
}

export function parseLockTarget(text: string): LockTarget | undefined {
    const m = /^\s*(\w+) (\d+\.\d+), (\w+) (\w+)\s*$/.exec(text);
    return m ? { implementation: m[1].toLowerCase(), python: m[2], platform: `${m[3].toLowerCase()}-${m[4].toLowerCase()}`, text: text.trim() } : undefined;
}

/**
 * Whether the interpreter that would create the private environment (the output of
 * {@link VERSION_PROBE_ARGS}) is the one the bundled hash-pinned lock serves: its binary wheels
 * exist for that implementation, Python minor version and platform only. Undefined when it is, or
 * when the lock names no target; else the one-line reason.
 */
export function checkLockTarget(stdout: string, lockTarget: string, command: string): string | undefined {
    const target = parseLockTarget(lockTarget);
    if (!target) {
        return undefined;
    }
    const m = /(\d+)\.(\d+)\.\d+\s+(\S+)\s+(\S+)/.exec(stdout.trim());
    if (!m) {
        return `${command} did not report its implementation and platform; the server bundled with this extension is locked for ${target.text}.`;
    }
    const [python, implementation, platform] = [`${m[1]}.${m[2]}`, m[3].toLowerCase(), m[4].toLowerCase().replace(/_/g, '-').replace('x86-64', 'x86_64')];
    if (python === target.python && implementation === target.implementation && platform === target.platform) {
        return undefined;
    }
    return `the server bundled with this extension is locked for ${target.text} (its binary wheels are specific to it), and ${command} is ${m[3]} ${python} on ${m[4]}.`;
}

/** The manual alternative when the bundled lock does not fit this machine (never "pip install tfguard" from an index). */
export function unsupportedPlatformHelp(target: string): string {
    return `Either install Python ${parseLockTarget(target)?.python ?? '3.11'} (${target}) and run "tfguard: Install Server into Private Environment" again, `
        + 'or install tfguard from its source or a wheel built for your platform into an environment of your own '
        + '(python -m pip install /path/to/tfguard) and set "tfguard.interpreter" to that python; or set "tfguard.installSource" to that wheel or source folder.';
}

export interface VersionCheck {
    ok: boolean;
    version?: string;
    problem?: string;
}

/** Whether the output of {@link VERSION_PROBE_ARGS} names a Python >= 3.11. */
export function checkPythonVersion(stdout: string, command: string): VersionCheck {
    const m = /(\d+)\.(\d+)\.(\d+)/.exec(stdout.trim());
    const need = `${MIN_PYTHON[0]}.${MIN_PYTHON[1]}`;
    if (!m) {
        return { ok: false, problem: `${command} did not report its version; tfguard needs Python ${need} or later.` };
    }
    const [major, minor] = [Number(m[1]), Number(m[2])];
    const version = `${m[1]}.${m[2]}.${m[3]}`;
    const ok = major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
    return ok ? { ok, version } : { ok, version, problem: `${command} is Python ${version}; tfguard needs Python ${need} or later.` };
}

export interface Cmd {
    command: string;
    args: string[];
}

export interface InstallPlanInputs {
    base: InterpreterCandidate;
    venvDir: string;
    /** Where the generated requirements file (bundle pins + the wheel with its hash) is written. */
    requirementsFile: string;
    bundle?: Bundle | undefined;
    /** The bundled requirements file's text (hash-pinned). */
    bundledRequirements?: string | undefined;
    /** `tfguard.wheelhouse`: a folder of wheels; pip then never contacts an index. */
    wheelhouse?: string | undefined;
    /** `tfguard.installSource`: an explicit wheel or source folder instead of the bundle (no hashes). */
    installSource?: string | undefined;
    platform: NodeJS.Platform;
}

export interface PrivateInstallPlan {
    checkPython: Cmd;
    createVenv: Cmd;
    /** Content of {@link InstallPlanInputs.requirementsFile} (undefined with an explicit installSource). */
    requirementsText?: string;
    pipInstall: Cmd;
    python: string;
    /** What is installed, for the progress message. */
    what: string;
}

export type PlanResult = { plan: PrivateInstallPlan; problem?: undefined } | { plan?: undefined; problem: string };

/** Requirements = the bundled pins + the bundled wheel with its sha256 (so `--require-hashes` covers it too). */
export function requirementsWithWheel(bundledRequirements: string, bundle: Bundle): string {
    const body = bundledRequirements.endsWith('\n') ? bundledRequirements : `${bundledRequirements}\n`;
    const url = fileUrl(bundle.wheelPath);
    return `${body}# the tfguard server bundled with the extension\ntfguard @ ${url} --hash=sha256:${bundle.sha256}\n`;
}

function fileUrl(p: string): string {
    const slashed = p.replace(/\\/g, '/');
    const withRoot = slashed.startsWith('/') ? slashed : `/${slashed}`;
    return `file://${encodeURI(withRoot)}`;
}

export function privateInstallPlan(inputs: InstallPlanInputs): PlanResult {
    const python = venvPython(inputs.venvDir, inputs.platform);
    const base = inputs.base;
    const checkPython = { command: base.command, args: [...base.args, ...VERSION_PROBE_ARGS] };
    const createVenv = { command: base.command, args: [...base.args, '-m', 'venv', inputs.venvDir] };
    const pip = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input'];
    const wheelhouse = inputs.wheelhouse?.trim() ? inputs.wheelhouse.trim() : undefined;
    const offline = wheelhouse ? ['--no-index', '--find-links', wheelhouse] : [];
    const source = inputs.installSource?.trim() ?? '';
    if (source !== '' && !/[\\/]/.test(source) && !/\.(whl|tar\.gz|zip)$/i.test(source)) {
        // A bare name ("tfguard") would be fetched from an index by name: exactly what the bundled
        // server exists to avoid (an unclaimed name can be anybody's package).
        return { problem: `tfguard.installSource ${JSON.stringify(source)} is not a wheel file or a source folder; a package name would be installed from an index by name. Clear the setting to install the bundled server.` };
    }
    if (source !== '') {
        // An explicit choice of the user (a wheel or a source folder): installed as given, its
        // dependencies resolved by pip; still no `--upgrade` of a name from an index by default.
        return {
            plan: {
                checkPython, createVenv, python, what: source,
                pipInstall: { command: python, args: [...pip, ...offline, source] },
            },
        };
    }
    if (!inputs.bundle || inputs.bundledRequirements === undefined) {
        return { problem: 'This build of the extension carries no tfguard server (client/server/ is missing); package it with `npm run package`, or set tfguard.installSource.' };
    }
    return {
        plan: {
            checkPython, createVenv, python,
            what: `tfguard ${inputs.bundle.version} (bundled)`,
            requirementsText: requirementsWithWheel(inputs.bundledRequirements, inputs.bundle),
            pipInstall: {
                command: python,
                args: [...pip, '--require-hashes', '--only-binary=:all:', ...offline, '-r', inputs.requirementsFile],
            },
        },
    };
}

/** The commands a person can run by hand when the install failed (or to do it themselves). */
export function manualCommands(plan: PrivateInstallPlan, requirementsFile: string, platform: NodeJS.Platform): string {
    const lines = [
        '# Create tfguard\'s private environment and install the server into it:',
        commandLine(plan.createVenv, platform),
    ];
    if (plan.requirementsText !== undefined) {
        lines.push(`# (${requirementsFile} lists the hash-pinned dependencies and the bundled wheel)`);
    }
    lines.push(commandLine(plan.pipInstall, platform));
    return lines.join('\n');
}




/** The version printed by the interpreter probe (interpreter.ts PROBE_ARGS), or undefined. */
export function parseServerVersion(stdout: string): string | undefined {
    const line = stdout.trim().split(/\r?\n/).pop()?.trim() ?? '';
    return /^\d+\.\d+(\.\d+)?([.+-]?[A-Za-z0-9.]+)?$/.test(line) ? line : undefined;
}
