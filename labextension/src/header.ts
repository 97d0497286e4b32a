/**
 * The sidebar's header: its name, the bound notebook and its kernel's status (sandboxed or not,
 * with the offer to switch), New thread, and what the thread's runs have spent.
 */

import type { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { button, el } from './dom';
import { renderSandbox } from './sandboxBadge';
import { describeSpending, ISpending } from './spending';

export class SidebarHeader extends Widget {
  constructor(newThread: () => void) {
    super();
    this.addClass('jp-codeinterp-header');
    const titleRow = el('div', 'jp-codeinterp-title-row');
    this._newThread = button(
      'jp-mod-minimal jp-codeinterp-new',
      'New thread',
      newThread
    );
    this._newThread.title = 'Start a new conversation for this notebook';
    titleRow.append(
      el('h2', 'jp-codeinterp-title', 'Code Interpreter'),
      this._newThread
    );
    const context = el('div', 'jp-codeinterp-context');
    this._notebookName = el('span', 'jp-codeinterp-notebook');
    this._kernel = el('span', 'jp-codeinterp-kernel');
    this._kernel.setAttribute('aria-live', 'polite');
    this._sandbox = el('span', 'jp-codeinterp-sandbox');
    context.append(this._notebookName, this._kernel, this._sandbox);
    this._spending = el('div', 'jp-codeinterp-thread-spending');
    this._spending.hidden = true;
    this.node.append(titleRow, context, this._spending);
  }

  /** Show the notebook (or none) and its kernel; New thread only when one can start. */
  update_(
    panel: NotebookPanel | null,
    canStartThread: boolean,
    spending: ISpending | null = null
  ): void {
    this._notebookName.textContent = panel
      ? (panel.context.localPath.split('/').pop() ?? panel.context.localPath)
      : 'No notebook';
    this._notebookName.title = panel ? panel.context.path : '';
    const ctx = panel?.sessionContext;
    const kernel = ctx?.session?.kernel;
    const status = !ctx ? '' : kernel ? ctx.kernelDisplayStatus : 'no kernel';
    this._kernel.dataset.status = status;
    this._kernel.textContent = ctx
      ? kernel
        ? `${ctx.kernelDisplayName} · ${status}`
        : 'No kernel'
      : '';
    this._kernel.hidden = !panel;
    this._newThread.disabled = !canStartThread;
    const sandboxKey = `${ctx?.session?.kernel?.name ?? ''}|${Object.keys(ctx?.specsManager.specs?.kernelspecs ?? {}).join(',')}`;
    if (sandboxKey !== this._sandboxKey) {
      this._sandboxKey = sandboxKey;
      renderSandbox(this._sandbox, ctx);
    }
    const shown = !!panel && !!spending && spending.runs > 0;
    this._spending.hidden = !shown;
    if (shown && spending) {
      const runs = `${spending.runs} run${spending.runs === 1 ? '' : 's'}`;
      this._spending.textContent = `This thread: ${runs} · ${describeSpending(spending)}`;
    }
  }

  private _sandbox: HTMLSpanElement;
  private _sandboxKey = '';
  private _spending: HTMLDivElement;

  private _notebookName: HTMLSpanElement;
  private _kernel: HTMLSpanElement;
  private _newThread: HTMLButtonElement;
}
