// Target of the server's code actions for fixes that need a choice (which KMS key, which log
// bucket, a commit hash): a quick pick of the choices the server found, or an input box for a
// value to type; the server then builds and applies the fix (tfguard.server.applyFix).
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';

const SERVER_APPLY_FIX_COMMAND = 'tfguard.server.applyFix';
const TYPE_A_VALUE = 'Type a value…';

interface Choice {
    label: string;
    value: string;
}

interface ChooseFixArgs {
    uri: string;
    checkId: string;
    title: string;
    prompt: string | null;
    choices: Choice[];
}

function isChooseFixArgs(x: unknown): x is ChooseFixArgs {
    const a = x as Partial<ChooseFixArgs> | null;
    return typeof a === 'object' && a !== null && typeof a.uri === 'string' && typeof a.checkId === 'string'
        && Array.isArray(a.choices) && (a.prompt === null || a.prompt === undefined || typeof a.prompt === 'string');
}

async function pick(args: ChooseFixArgs): Promise<string | undefined> {
    if (args.choices.length > 0) {
        const items = args.choices.map((c) => ({ label: c.label, value: c.value }));
        const extra = args.prompt ? [{ label: TYPE_A_VALUE, value: '' }] : [];
        const chosen = await vscode.window.showQuickPick([...items, ...extra], {
            title: `Fix ${args.checkId}`,
            placeHolder: 'Choose how to fix it',
            ignoreFocusOut: true,
        });
        if (chosen === undefined || chosen.label !== TYPE_A_VALUE) {
            return chosen?.value;
        }
    }
    if (!args.prompt) {
        return undefined;
    }
    const typed = await vscode.window.showInputBox({
        title: args.title,
        prompt: args.prompt,
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() ? undefined : 'A value is needed'),
    });
    return typed?.trim();
}

export async function chooseFix(arg: unknown, client: LanguageClient | undefined): Promise<void> {
    const target: unknown = Array.isArray(arg) ? (arg as unknown[])[0] : arg;
    if (!client || !isChooseFixArgs(target)) {
        return;
    }
    const value = await pick(target);
    if (value === undefined) {
        return; // dismissed
    }
    const { choices: _choices, ...rest } = target;
    void _choices;
    await client.sendRequest(ExecuteCommandRequest.type, {
        command: SERVER_APPLY_FIX_COMMAND,
        arguments: [{ ...rest, value }],
    });
}
