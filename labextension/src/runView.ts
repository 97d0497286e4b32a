/**
 * A whole run as a chat turn: the prompt, assistant text streamed as rendered markdown, the code
 * steps (StepView) in the order they happened, notices, and a footer with status and token usage.
 * Used by the sidebar and by the `%%interpret` MIME renderer.
 *
 * Nothing in it is trusted (see trust.ts): the model's text is always sanitised markdown, and the
 * code's outputs render untrusted until the user picks "Trust outputs" on the ended run.
 */

import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

import { RunEvent } from './events';
import {
  applyEvent,
  IRunState,
  isActive,
  newRunState,
  RunItem
} from './runState';
import { StepView } from './stepView';
import { confirmTrust, hasActiveContent } from './trust';

export interface IRunViewOptions {
  rendermime: IRenderMimeRegistry;
  languages: IEditorLanguageRegistry | null;
  /** Show the prompt bubble (the magic's renderer does not: the prompt is the cell above). */
  showPrompt?: boolean;
  /** Whether the code's outputs may render active content (default false: only the user trusts). */
  trusted?: boolean;
  /** Called once the user has trusted this run's outputs (to trust its notebook cells as well). */
  onTrusted?: (runId: string) => void;
}

/** Renders the model's markdown through rendermime, always untrusted (sanitised), coalescing updates. */
class MarkdownView extends Widget {
  constructor(private _rendermime: IRenderMimeRegistry) {
    super();
    this.addClass('jp-codeinterp-text');
    this._renderer = _rendermime.createRenderer('text/markdown');
    this._renderer.addClass('jp-codeinterp-markdown');
    this.node.appendChild(this._renderer.node);
  }

  setText(text: string): void {
    if (text === this._text) {
      return;
    }
    this._text = text;
    void this._render();
  }

  private async _render(): Promise<void> {
    if (this._busy) {
      this._dirty = true;
      return;
    }
    this._busy = true;
    do {
      this._dirty = false;
      const model = new MimeModel({
        data: { 'text/markdown': this._text },
        trusted: false
      });
      try {
        await this._renderer.renderModel(model);
      } catch {
        this._renderer.node.textContent = this._text;
      }
    } while (this._dirty && !this.isDisposed);
    this._busy = false;
  }

  dispose(): void {
    this._renderer.dispose();
    super.dispose();
  }

  get rendermime(): IRenderMimeRegistry {
    return this._rendermime;
  }

  private _renderer: IRenderMime.IRenderer;
  private _text = '';
  private _busy = false;
  private _dirty = false;
}

export class RunView extends Panel {
  constructor(
    runId: string,
    private _options: IRunViewOptions
  ) {
    super();
    this.addClass('jp-codeinterp-run');
    this.node.dataset.runId = runId;
    this._state = newRunState(runId);
    this._trusted = _options.trusted === true;

    this._prompt = new Widget();
    this._prompt.addClass('jp-codeinterp-prompt');
    this._prompt.node.setAttribute('aria-label', 'Prompt');
    if (_options.showPrompt !== false) {
      this.addWidget(this._prompt);
    }
    this._body = new Panel();
    this._body.addClass('jp-codeinterp-run-body');
    this.addWidget(this._body);

    this._thinking = new Widget();
    this._thinking.addClass('jp-codeinterp-thinking');
    this._thinking.node.innerHTML =
      '<span class="jp-codeinterp-dot"></span><span class="jp-codeinterp-dot"></span><span class="jp-codeinterp-dot"></span><span class="jp-codeinterp-thinking-label">Thinking</span>';
    this.addWidget(this._thinking);

    this._footer = new Widget();
    this._footer.addClass('jp-codeinterp-run-footer');
    // Screen readers hear the run's status when it changes, not every tick of a step's timer.
    this._footer.node.setAttribute('role', 'status');
    this._footer.node.setAttribute('aria-live', 'polite');
    this.addWidget(this._footer);
    this._render();
  }

  get state(): IRunState {
    return this._state;
  }

  /** Whether the user trusted this run's outputs. */
  get trusted(): boolean {
    return this._trusted;
  }

  /** Re-render the run's outputs trusted; the model's text stays sanitised. */
  trust(): void {
    if (this._trusted) {
      return;
    }
    this._trusted = true;
    for (const view of this._steps.values()) {
      view.setTrusted(true);
    }
    this.node.dataset.trusted = 'true';
    this._footerKey = '';
    this._renderFooter();
    this._options.onTrusted?.(this._state.runId);
  }

  /** Apply one event and re-render what it changed. Returns false for a duplicate. */
  apply(event: RunEvent): boolean {
    if (!applyEvent(this._state, event)) {
      return false;
    }
    this._render();
    return true;
  }

  /** Apply a batch of events, rendering once. */
  applyAll(events: RunEvent[]): void {
    let changed = false;
    for (const event of events) {
      changed = applyEvent(this._state, event) || changed;
    }
    if (changed) {
      this._render();
    }
  }

  /**
   * Show exactly what `events` say, rebuilt from the first event: for a log that may have been
   * compacted since it was last seen (a saved `%%interpret` bundle folds streamed pieces), where
   * applying only the new seqs would miss or repeat text. Widgets are reused, so nothing flickers.
   */
  replay(events: RunEvent[]): void {
    const state = newRunState(this._state.runId);
    for (const event of events) {
      applyEvent(state, event);
    }
    this._state = state;
    this._render();
  }

  dispose(): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
    super.dispose();
  }

  private _render(): void {
    const state = this._state;
    this.node.dataset.status = state.status;
    this._prompt.node.textContent = state.prompt;
    this._prompt.node.hidden = !state.prompt;

    state.items.forEach((item, index) => this._renderItem(item, index));

    const active = isActive(state);
    const last = state.items[state.items.length - 1];
    const lastStep =
      last && last.kind === 'step' ? state.steps.get(last.step) : undefined;
    // Waiting on the model: nothing yet, or a step finished and the next reply has not begun.
    this._thinking.node.hidden = !(
      active &&
      (!last || (lastStep && lastStep.stage === 'completed'))
    );
    this._renderFooter();

    const running = [...this._steps.values()].some(v => v.isRunning);
    if (running && this._timer === null) {
      this._timer = window.setInterval(() => {
        for (const v of this._steps.values()) {
          v.tick();
        }
      }, 100);
    } else if (!running && this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
  }

  private _renderItem(item: RunItem, index: number): void {
    let widget = this._items[index];
    if (!widget) {
      switch (item.kind) {
        case 'text':
          widget = new MarkdownView(this._options.rendermime);
          break;
        case 'step': {
          const view = new StepView(item.step, {
            ...this._options,
            trusted: this._trusted
          });
          this._steps.set(item.step, view);
          widget = view;
          break;
        }
        case 'notice': {
          widget = new Widget();
          widget.addClass('jp-codeinterp-notice');
          widget.node.dataset.level = item.level;
          widget.node.setAttribute('role', 'status');
          widget.node.textContent = item.message;
          break;
        }
      }
      this._items[index] = widget;
      this._body.addWidget(widget);
    }
    if (item.kind === 'text') {
      (widget as MarkdownView).setText(item.text);
      widget.node.hidden = !item.text.trim();
    } else if (item.kind === 'step') {
      const step = this._state.steps.get(item.step);
      if (step) {
        (widget as StepView).update_(step);
      }
    }
  }

  private _renderFooter(): void {
    const state = this._state;
    // Trust is offered on an ended run whose outputs would render differently if trusted.
    const offerTrust =
      !this._trusted &&
      !isActive(state) &&
      [...state.steps.values()].some(s => hasActiveContent(s.outputs.items));
    const key = JSON.stringify([
      state.status,
      state.steps.size,
      state.usage,
      state.reason,
      offerTrust,
      this._trusted
    ]);
    if (key === this._footerKey) {
      return;
    }
    this._footerKey = key;
    const node = this._footer.node;
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
      usage.title = `${u.prompt_tokens.toLocaleString()} prompt + ${u.completion_tokens.toLocaleString()} completion tokens`;
      usage.textContent = `${u.total_tokens.toLocaleString()} tokens (${u.prompt_tokens.toLocaleString()} in · ${u.completion_tokens.toLocaleString()} out)`;
      node.appendChild(usage);
    }
    if (offerTrust) {
      node.appendChild(this._trustButton());
    } else if (this._trusted) {
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
          this.trust();
        }
      });
    });
    return button;
  }

  private _state: IRunState;
  private _trusted: boolean;
  private _prompt: Widget;
  private _body: Panel;
  private _thinking: Widget;
  private _footer: Widget;
  private _items: Widget[] = [];
  private _steps = new Map<number, StepView>();
  private _timer: number | null = null;
  private _footerKey = '';
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
