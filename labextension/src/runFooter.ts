/**
 * The footer of a run view: the run's status, its tokens and estimated cost, why it did not complete (with a
 * hint for the usual causes), and "Trust outputs" once an ended run has outputs trust would change.
 * Screen readers hear the status when it changes, not every tick of a step's timer.
 */

import { Widget } from '@lumino/widgets';

import { IRunState, isActive } from './runState';
import { describeSpending, sumSpending } from './spending';
import { confirmTrust, hasActiveContent } from './trust';

export class RunFooter extends Widget {
  constructor(private _onTrust: () => void) {
    super();
    this.addClass('jp-codeinterp-run-footer');
    this.node.setAttribute('role', 'status');
    this.node.setAttribute('aria-live', 'polite');
  }

  /** Render the footer for `state`; nothing is redone while what it shows is unchanged. */
  update_(state: IRunState, trusted: boolean): void {
    // Trust is offered on an ended run whose outputs would render differently if trusted.
    const offerTrust =
      !trusted &&
      !isActive(state) &&
      [...state.steps.values()].some(s => hasActiveContent(s.outputs.items));
    const key = JSON.stringify([
      state.status,
      state.steps.size,
      state.usage,
      state.reason,
      offerTrust,
      trusted
    ]);
    if (key === this._key) {
      return;
    }
    this._key = key;
    const node = this.node;
    node.replaceChildren();
    const status = document.createElement('span');
    status.className = 'jp-codeinterp-run-status';
    status.dataset.status = state.status;
    const steps = state.steps.size;
    const stepsText = `${steps} step${steps === 1 ? '' : 's'}`;
    switch (state.status) {
      case 'queued':
      case 'running':
        status.textContent = steps ? `Working · ${stepsText}` : 'Working';
        break;
      case 'waiting_for_approval':
        status.textContent = `Waiting for your approval · ${stepsText}`;
        break;
      case 'completed':
        status.textContent = `Completed · ${stepsText}`;
        break;
      case 'cancelled':
        status.textContent = `Stopped · ${stepsText}`;
        break;
      case 'failed':
        status.textContent = 'Failed';
        break;
    }
    node.appendChild(status);
    const u = state.usage;
    if (u.total_tokens > 0) {
      const usage = document.createElement('span');
      usage.className = 'jp-codeinterp-usage';
      usage.title =
        `${u.prompt_tokens.toLocaleString()} prompt + ${u.completion_tokens.toLocaleString()} completion tokens` +
        (u.estimated
          ? ' (estimated: the endpoint reported none, so the server counted them)'
          : '');
      usage.textContent = describeSpending(sumSpending([u]));
      node.appendChild(usage);
    }
    if (offerTrust) {
      node.appendChild(this._trustButton());
    } else if (trusted) {
      const badge = document.createElement('span');
      badge.className = 'jp-codeinterp-trusted';
      badge.textContent = 'Outputs trusted';
      badge.title =
        'You trusted the outputs of this run: they may run JavaScript. Reload to show them untrusted again.';
      node.appendChild(badge);
    }
    if (state.reason && state.status !== 'completed') {
      const reason = document.createElement('div');
      reason.className = 'jp-codeinterp-run-reason';
      reason.dataset.status = state.status;
      if (state.status === 'failed') {
        reason.setAttribute('role', 'alert');
      }
      reason.textContent = state.reason;
      const help = reasonHelp(state.reason);
      if (help) {
        const hint = document.createElement('span');
        hint.className = 'jp-codeinterp-run-reason-help';
        hint.textContent = help;
        reason.appendChild(hint);
      }
      node.appendChild(reason);
    }
  }

  private _trustButton(): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className =
      'jp-Button jp-mod-styled jp-mod-minimal jp-codeinterp-trust';
    button.textContent = 'Trust outputs';
    button.title =
      'Outputs are shown untrusted: no scripts, no event handlers, no javascript: links. ' +
      'Trust them to render them as they are (they may then run JavaScript in this page).';
    button.addEventListener('click', () => {
      void confirmTrust().then(yes => {
        if (yes && !this.isDisposed) {
          this._onTrust();
        }
      });
    });
    return button;
  }

  private _key = '';
}

/** An actionable hint for the usual reasons a run fails before doing anything. */
export function reasonHelp(reason: string): string {
  if (
    /\b401\b|api[ _-]?key|unauthori[sz]ed|authentication|permission/i.test(
      reason
    )
  ) {
    return 'Check OPENAI_API_KEY (or c.CodeInterpreter.api_key) in the environment that starts Jupyter, then restart Jupyter.';
  }
  if (/\b404\b|model.*(not found|does not exist)|no such model/i.test(reason)) {
    return 'Check the model name: CODEINTERP_MODEL or c.CodeInterpreter.model.';
  }
  if (/connect|unreachable|refused|timed? ?out|resolve/i.test(reason)) {
    return 'Check that the endpoint is up and that OPENAI_BASE_URL (or c.CodeInterpreter.base_url) points at it.';
  }
  return '';
}
