/**
 * The approval bar of a run paused before a step (approval mode `ask`): Run, Edit and run, Skip
 * (with an optional reason the model is told) and Stop. The code it decides on is the step's, shown
 * just above by the step view. A decision is sent once; the bar goes when the run's
 * `approval_decided` event arrives (from this tab or another), and a 409 (another tab decided
 * first) is said in words, never retried.
 */

import { Widget } from '@lumino/widgets';

import { button, el } from './dom';
import type { IApprovalDecision } from './request';

/** Sends a decision; rejects with the server's message when it is refused. */
export type DecideFn = (decision: IApprovalDecision) => Promise<void>;

type Mode = 'choose' | 'edit' | 'skip';

export class ApprovalView extends Widget {
  constructor(private _decide: DecideFn | null) {
    super();
    this.addClass('jp-codeinterp-approval');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Approval needed');
    this.hide();
  }

  /** Show the bar for `pending` (or hide it when nothing is pending). */
  update_(pending: { step: number; code: string } | null): void {
    if (!pending) {
      this._pending = null;
      this.hide();
      return;
    }
    if (this._pending?.step !== pending.step) {
      this._pending = pending;
      this._mode = 'choose';
      this._busy = false;
      this._error = '';
      this._render();
    }
    this.show();
  }

  private _render(): void {
    const pending = this._pending;
    if (!pending) {
      return;
    }
    const node = this.node;
    node.replaceChildren();
    node.dataset.step = String(pending.step);
    node.dataset.mode = this._mode;
    const title = el(
      'div',
      'jp-codeinterp-approval-title',
      `Step ${pending.step} is waiting for your approval`
    );
    node.appendChild(title);
    if (!this._decide) {
      node.appendChild(
        el(
          'div',
          'jp-codeinterp-approval-hint',
          'Decide where the run was started (the terminal or the sidebar).'
        )
      );
      return;
    }
    const hint = el(
      'div',
      'jp-codeinterp-approval-hint',
      'Nothing runs until you decide. Check the code above: it runs in this notebook’s kernel, with your access to files and network.'
    );
    node.appendChild(hint);
    const actions = el('div', 'jp-codeinterp-approval-actions');
    if (this._mode === 'edit') {
      const editor = el(
        'textarea',
        'jp-mod-styled jp-codeinterp-approval-code'
      );
      editor.value = pending.code;
      editor.rows = Math.min(
        16,
        Math.max(4, pending.code.split('\n').length + 1)
      );
      editor.spellcheck = false;
      editor.setAttribute('aria-label', `Edited code of step ${pending.step}`);
      node.appendChild(editor);
      actions.append(
        this._button('jp-mod-accept', 'Run edited code', 'run-edited', () => {
          const code = editor.value;
          if (!code.trim()) {
            this._fail('The edited code is empty: write some, or Skip.');
            return;
          }
          void this._send({ step: pending.step, action: 'edit', code });
        }),
        this._button('jp-mod-reject', 'Cancel', 'cancel', () =>
          this._setMode('choose')
        )
      );
      window.requestAnimationFrame(() => editor.focus());
    } else if (this._mode === 'skip') {
      const reason = el('input', 'jp-mod-styled jp-codeinterp-approval-reason');
      reason.type = 'text';
      reason.placeholder = 'Why? (optional, told to the model)';
      reason.setAttribute('aria-label', 'Reason for skipping (optional)');
      reason.maxLength = 2000;
      node.appendChild(reason);
      const skip = () =>
        void this._send({
          step: pending.step,
          action: 'skip',
          ...(reason.value.trim() ? { reason: reason.value.trim() } : {})
        });
      reason.addEventListener('keydown', event => {
        if (event.key === 'Enter') {
          event.preventDefault();
          skip();
        }
      });
      actions.append(
        this._button('jp-mod-warn', 'Skip step', 'skip-confirm', skip),
        this._button('jp-mod-reject', 'Cancel', 'cancel', () =>
          this._setMode('choose')
        )
      );
      window.requestAnimationFrame(() => reason.focus());
    } else {
      actions.append(
        this._button(
          'jp-mod-accept',
          'Run',
          'run',
          () => void this._send({ step: pending.step, action: 'run' })
        ),
        this._button('', 'Edit and run', 'edit', () => this._setMode('edit')),
        this._button('', 'Skip', 'skip', () => this._setMode('skip')),
        this._button(
          'jp-mod-warn',
          'Stop',
          'stop',
          () => void this._send({ step: pending.step, action: 'stop' })
        )
      );
    }
    node.appendChild(actions);
    if (this._error) {
      const error = el('div', 'jp-codeinterp-approval-error', this._error);
      error.setAttribute('role', 'alert');
      node.appendChild(error);
    }
  }

  private _button(
    kind: string,
    label: string,
    action: string,
    onClick: () => void
  ): HTMLButtonElement {
    const node = button(
      `jp-codeinterp-approval-button ${kind}`,
      label,
      onClick
    );
    node.dataset.action = action;
    node.disabled = this._busy;
    return node;
  }

  private _setMode(mode: Mode): void {
    this._mode = mode;
    this._error = '';
    this._render();
  }

  private _fail(message: string): void {
    this._error = message;
    this._render();
  }

  private async _send(decision: IApprovalDecision): Promise<void> {
    if (!this._decide || this._busy) {
      return;
    }
    this._busy = true;
    this._error = '';
    this._render();
    try {
      await this._decide(decision);
      // The bar goes when approval_decided arrives; until then it stays disabled.
    } catch (error) {
      this._busy = false;
      const status = (error as { status?: number }).status;
      this._error =
        status === 409
          ? 'This step was already decided (in another tab or window); the run goes on as decided there.'
          : `Could not send the decision: ${(error as Error).message}`;
      this._render();
    }
  }

  private _pending: { step: number; code: string } | null = null;
  private _mode: Mode = 'choose';
  private _busy = false;
  private _error = '';
}
