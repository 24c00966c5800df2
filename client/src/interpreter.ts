/**
 * Pure choice of the Python interpreter that runs `python -m tfguard serve`.
 *
 * Order: the `tfguard.interpreter` setting (authoritative when set) → the
 * interpreter selected in the Python extension → tfguard's private virtual
 * environment (if it was created) → `python3` / `python` on PATH.
 * The caller probes the candidates in order with `import tfguard` and uses
 * the first that has it; everything here takes its inputs as arguments.
 */
import * as path from 'path';
import { expandPath, PathContext } from './settings';

export type InterpreterSource = 'setting' | 'pythonExtension' | 'privateEnvironment' | 'path';

export interface InterpreterCandidate {
    /** Executable to spawn. */
    command: string;
    /** Arguments before `-m tfguard serve` (e.g. `conda run -n env python` puts `run -n env python` here). */
    args: string[];
    source: InterpreterSource;
}

export interface InterpreterInputs {
    /** Raw `tfguard.interpreter` value. */
    setting?: string | undefined;
    /** The Python extension's execution command for the resource, if that extension is present. */
    pythonExtensionCommand?: string[] | undefined;
    /** The private environment's python, if that environment exists. */
    privateEnvironmentPython?: string | undefined;
    /** `process.env.PATH`. */
    pathEnv?: string | undefined;
    /** `process.env.PATHEXT` (Windows). */
    pathExt?: string | undefined;
    platform: NodeJS.Platform;
    /** Whether a file exists and can be executed. */
    isExecutable: (file: string) => boolean;
    paths?: PathContext;
}

export interface CandidateResult {
    candidates: InterpreterCandidate[];
    problems: string[];
}

const SERVER_MODULE_ARGS = ['-m', 'tfguard', 'serve'];
/** Prints the installed tfguard's version (see install.ts parseServerVersion); fails without tfguard. */
export const PROBE_ARGS = ['-c', 'import tfguard; print(tfguard.__version__)'];

function pathApi(platform: NodeJS.Platform): path.PlatformPath {
    return platform === 'win32' ? path.win32 : path.posix;
}

function hasSeparator(value: string, platform: NodeJS.Platform): boolean {
    return value.includes('/') || (platform === 'win32' && value.includes('\\'));
}

/** Look an executable name up on PATH (with PATHEXT on Windows). */
export function findOnPath(
    name: string,
    pathEnv: string | undefined,
    platform: NodeJS.Platform,
    isExecutable: (file: string) => boolean,
    pathExt?: string,
): string | undefined {
    if (!pathEnv) {
        return undefined;
    }
    const api = pathApi(platform);
    const delimiter = platform === 'win32' ? ';' : ':';
    const extensions = platform === 'win32'
        ? ['', ...(pathExt ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((e) => e !== '')]
        : [''];
    for (const dir of pathEnv.split(delimiter)) {
        if (dir === '') {
            continue;
        }
        for (const ext of extensions) {
            const file = api.join(dir, name + ext);
            if (isExecutable(file)) {
                return file;
            }
        }
    }
    return undefined;
}

/** Where a virtual environment keeps its interpreter. */
export function venvPython(venvDir: string, platform: NodeJS.Platform): string {
    const api = pathApi(platform);
    return platform === 'win32' ? api.join(venvDir, 'Scripts', 'python.exe') : api.join(venvDir, 'bin', 'python');
}

function sameCandidate(a: InterpreterCandidate, b: InterpreterCandidate): boolean {
    return a.command === b.command && a.args.length === b.args.length && a.args.every((x, i) => x === b.args[i]);
}

/** The interpreters to try, best first, without duplicates. */
export function interpreterCandidates(inputs: InterpreterInputs): CandidateResult {
    const problems: string[] = [];
    const candidates: InterpreterCandidate[] = [];
    const add = (c: InterpreterCandidate): void => {
        if (!candidates.some((existing) => sameCandidate(existing, c))) {
            candidates.push(c);
        }
    };

    const setting = inputs.setting?.trim() ?? '';
    if (setting !== '') {
        const expanded = expandPath(setting, inputs.paths ?? {});
        if (expanded === undefined) {
            problems.push(`tfguard.interpreter ${JSON.stringify(setting)} uses a variable that cannot be resolved here.`);
        } else if (hasSeparator(expanded, inputs.platform)) {
            add({ command: expanded, args: [], source: 'setting' });
        } else {
            // A bare name such as `python3.12`: resolve on PATH, else let spawn try it as is.
            const found = findOnPath(expanded, inputs.pathEnv, inputs.platform, inputs.isExecutable, inputs.pathExt);
            add({ command: found ?? expanded, args: [], source: 'setting' });
        }
        if (candidates.length > 0) {
            // An explicit setting is authoritative: never silently run another interpreter.
            return { candidates, problems };
        }
    }

    const ext = inputs.pythonExtensionCommand?.filter((part) => part !== '');
    if (ext && ext.length > 0) {
        add({ command: ext[0], args: ext.slice(1), source: 'pythonExtension' });
    }

    if (inputs.privateEnvironmentPython && inputs.isExecutable(inputs.privateEnvironmentPython)) {
        add({ command: inputs.privateEnvironmentPython, args: [], source: 'privateEnvironment' });
    }

    const names = inputs.platform === 'win32' ? ['python', 'py'] : ['python3', 'python'];
    for (const name of names) {
        const found = findOnPath(name, inputs.pathEnv, inputs.platform, inputs.isExecutable, inputs.pathExt);
        if (found) {
            add({ command: found, args: [], source: 'path' });
        }
    }
    return { candidates, problems };
}

/** Arguments that start the language server with a candidate. */
export function serverCommand(candidate: InterpreterCandidate): { command: string; args: string[] } {
    return { command: candidate.command, args: [...candidate.args, ...SERVER_MODULE_ARGS] };
}

/** Arguments that check whether a candidate can import tfguard, and print its version. */
export function probeCommand(candidate: InterpreterCandidate): { command: string; args: string[] } {
    return { command: candidate.command, args: [...candidate.args, ...PROBE_ARGS] };
}

/** Quote one word for a POSIX shell or for cmd/PowerShell, for display in "Show command". */
export function shellQuote(word: string, platform: NodeJS.Platform): string {
    if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) {
        return word;
    }
    if (platform === 'win32') {
        return `"${word.replace(/"/g, '""')}"`;
    }
    return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(cmd: { command: string; args: string[] }, platform: NodeJS.Platform): string {
    return [cmd.command, ...cmd.args].map((w) => shellQuote(w, platform)).join(' ');
}

export function describeCandidate(candidate: InterpreterCandidate): string {
    const where: Record<InterpreterSource, string> = {
        setting: 'tfguard.interpreter setting',
        pythonExtension: 'Python extension',
        privateEnvironment: 'tfguard private environment',
        path: 'PATH',
    };
    return `${[candidate.command, ...candidate.args].join(' ')} (${where[candidate.source]})`;
}
