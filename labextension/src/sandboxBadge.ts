/**
 * Whether the notebook's kernel is the sandboxed one (`jupyter codeinterp install-sandbox-kernel`:
 * no network, writes only in the notebook's folder, memory capped), and the offer to switch to it.
 * The sandbox kernelspec is recognised by its name, which always contains "sandbox".
 */

import { Dialog, type ISessionContext, showDialog } from '@jupyterlab/apputils';

import { button, el } from './dom';
import { SandboxState, sandboxState } from './sandboxState';

export const SANDBOX_TITLE =
  'Sandboxed kernel: no network, the system read-only, writes only in the notebook’s folder ' +
  'and a private /tmp, memory capped, no API keys in its environment.';
const NOT_SANDBOXED_TITLE =
  'The model’s code runs with your own rights, network and files. ' +
  'Install a sandboxed kernel with `jupyter codeinterp install-sandbox-kernel --user`.';

/** The state of a notebook's session (none without a running kernel). */
export function sessionSandbox(ctx: ISessionContext): SandboxState | null {
  const kernel = ctx.session?.kernel;
  if (!kernel) {
    return null;
  }
  const specs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(
    ctx.specsManager.specs?.kernelspecs ?? {}
  )) {
    specs[name] = spec?.display_name ?? name;
  }
  return sandboxState(kernel.name, specs);
}

/** Render the badge (or the switch button) for `ctx` into `node`. */
export function renderSandbox(
  node: HTMLElement,
  ctx: ISessionContext | undefined
): void {
  node.replaceChildren();
  const state = ctx ? sessionSandbox(ctx) : null;
  node.hidden = state === null;
  node.dataset.sandbox = state?.kind ?? '';
  if (!ctx || state === null) {
    return;
  }
  if (state.kind === 'sandboxed') {
    const badge = el('span', 'jp-codeinterp-sandboxed', 'Sandboxed');
    badge.title = SANDBOX_TITLE;
    node.append(badge);
    return;
  }
  const note = el('span', 'jp-codeinterp-unsandboxed', 'Not sandboxed');
  note.title = NOT_SANDBOXED_TITLE;
  node.append(note);
  if (state.kind === 'available') {
    const switcher = button(
      'jp-mod-minimal jp-codeinterp-use-sandbox',
      'Use sandboxed kernel',
      () => void switchToSandbox(ctx, state.spec, state.displayName)
    );
    switcher.title = `Switch this notebook to “${state.displayName}”. ${SANDBOX_TITLE}`;
    node.append(switcher);
  }
}

async function switchToSandbox(
  ctx: ISessionContext,
  spec: string,
  displayName: string
): Promise<void> {
  const result = await showDialog({
    title: 'Switch to the sandboxed kernel?',
    body:
      `The notebook’s kernel becomes “${displayName}”. ${SANDBOX_TITLE} ` +
      'Variables in the current kernel are lost; rerun the cells you need.',
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: 'Switch kernel' })
    ]
  });
  if (result.button.accept) {
    await ctx.changeKernel({ name: spec });
  }
}
