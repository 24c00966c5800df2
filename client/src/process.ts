/** Run a child process to completion, streaming its output; never throws. */
import { spawn } from 'child_process';

export interface RunResult {
    /** Exit code; -1 when the process could not be started or was killed. */
    code: number;
    stdout: string;
    stderr: string;
    /** Set when the executable could not be started (e.g. ENOENT). */
    spawnError?: string;
    cancelled?: boolean;
}

export interface RunOptions {
    timeoutMs?: number;
    token?: { isCancellationRequested: boolean; onCancellationRequested: (listener: () => void) => { dispose(): void } };
    onOutput?: (chunk: string) => void;
    cwd?: string;
}

const MAX_CAPTURE = 64 * 1024;

export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve) => {
        let stdout = '';
        let stderr = '';
        let settled = false;
        let cancelled = false;
        const finish = (result: RunResult): void => {
            if (!settled) {
                settled = true;
                clearTimeout(timer);
                cancelListener?.dispose();
                resolve(result);
            }
        };
        let child: ReturnType<typeof spawn>;
        try {
            child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
        } catch (error) {
            resolve({ code: -1, stdout, stderr, spawnError: String(error) });
            return;
        }
        const timer = options.timeoutMs !== undefined
            ? setTimeout(() => {
                stderr += `\n(timed out after ${options.timeoutMs} ms)`;
                child.kill();
            }, options.timeoutMs)
            : undefined;
        const cancelListener = options.token?.onCancellationRequested(() => {
            cancelled = true;
            child.kill();
        });
        const take = (current: string, chunk: string): string => (current + chunk).slice(-MAX_CAPTURE);
        child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
            stdout = take(stdout, chunk);
            options.onOutput?.(chunk);
        });
        child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
            stderr = take(stderr, chunk);
            options.onOutput?.(chunk);
        });
        child.on('error', (error) => finish({ code: -1, stdout, stderr, spawnError: error.message }));
        child.on('close', (code) => finish({ code: code ?? -1, stdout, stderr, cancelled }));
    });
}
