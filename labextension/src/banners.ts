/**
 * The sidebar's banners, above the thread: what keeps a run from starting (the server's
 * configuration, the notebook's kernel) and the last request error, each with what to do about it.
 */

import { button, el } from './dom';

/** The help shown below a configuration problem. */
const CONFIG_HELP =
  'Set the variables in the environment that starts Jupyter, then restart it: ' +
  'OPENAI_API_KEY for the key, OPENAI_BASE_URL for another OpenAI-compatible endpoint ' +
  '(a local server may need no key), CODEINTERP_MODEL for the model. ' +
  'Or set c.CodeInterpreter.api_key / base_url / model in a Jupyter config file. ' +
  'To check the install, run `jupyter codeinterp doctor` in a terminal.';

export interface IBanners {
  /** Why the server cannot run anything (its own `problem`, or why it could not be asked). */
  configProblem: string;
  /** The server answered and names a problem: a model can be connected from here. */
  canConnect: boolean;
  /** The notebook's kernel: none shown without a notebook. */
  kernel: 'running' | 'starting' | 'none' | null;
  /** The last request that failed, in words. */
  error: string;
}

export interface IBannerActions {
  connect: () => void;
  checkAgain: () => void;
  startKernel: () => void;
}

/** Render the banners into `node` (hidden when there is none). */
export function renderBanners(
  node: HTMLElement,
  state: IBanners,
  actions: IBannerActions
): void {
  node.replaceChildren();
  if (state.configProblem) {
    const b = banner('jp-codeinterp-config-problem', 'config', true);
    b.append(
      el(
        'strong',
        'jp-codeinterp-banner-title',
        'The Code Interpreter is not configured'
      ),
      el('p', 'jp-codeinterp-banner-text', state.configProblem)
    );
    if (state.canConnect) {
      // "Connect a model" (connectForm.ts).
      b.append(
        el('p', 'jp-codeinterp-banner-help', CONFIG_HELP),
        button(
          'jp-mod-accept jp-codeinterp-open-connect',
          'Connect a model…',
          actions.connect
        )
      );
    }
    b.append(button('jp-mod-reject', 'Check again', actions.checkAgain));
    node.append(b);
  }
  if (state.kernel === 'starting' || state.kernel === 'none') {
    const b = banner('jp-codeinterp-no-kernel', 'kernel', false);
    b.append(
      el(
        'p',
        'jp-codeinterp-banner-text',
        state.kernel === 'starting'
          ? 'Starting the kernel…'
          : 'This notebook has no running kernel. The Code Interpreter runs code in it.'
      )
    );
    if (state.kernel === 'none') {
      b.append(button('jp-mod-accept', 'Start kernel', actions.startKernel));
    }
    node.append(b);
  }
  if (state.error) {
    const b = banner('jp-codeinterp-error', 'error', true);
    b.append(el('p', 'jp-codeinterp-banner-text', state.error));
    node.append(b);
  }
  node.hidden = node.childElementCount === 0;
}

function banner(className: string, kind: string, alert: boolean) {
  const b = el('div', `jp-codeinterp-banner ${className}`);
  b.dataset.kind = kind;
  if (alert) {
    b.setAttribute('role', 'alert');
  }
  return b;
}
