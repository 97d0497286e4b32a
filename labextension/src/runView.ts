/**
 * A whole run as a chat turn: the prompt, assistant text streamed as rendered markdown, the code
 * steps (StepView) in the order they happened, notices, and a footer with status and token usage.
 * Used by the sidebar and by the `%%interpret` MIME renderer.
 *
 * Nothing in it is trusted (see trust.ts): the model's text is always sanitised markdown, and the
 * code's outputs render untrusted until the user picks "Trust outputs" on the ended run.
 */

import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import { ApprovalView, DecideFn } from './approvalView';
import { RunEvent } from './events';
import {
  applyEvent,
  IRunState,
  isActive,
  newRunState,
  RunItem
} from './runState';
import { IFileActions, linkFiles } from './fileLinks';
import { MarkdownView } from './markdownView';
import { RunFooter } from './runFooter';
import { StepView } from './stepView';

export interface IRunViewOptions {
  rendermime: IRenderMimeRegistry;
  languages: IEditorLanguageRegistry | null;
  /** Show the prompt bubble (the magic's renderer does not: the prompt is the cell above). */
  showPrompt?: boolean;
  /** Whether the code's outputs may render active content (default false: only the user trusts). */
  trusted?: boolean;
  /** Called once the user has trusted this run's outputs (to trust its notebook cells as well). */
  onTrusted?: (runId: string) => void;
  /** Sends a decision for the step the run is paused before; without it the bar only says it waits. */
  onDecide?: DecideFn;
  /** Opens and downloads the files the run's steps wrote. */
  files?: IFileActions;
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

    this._approval = new ApprovalView(_options.onDecide ?? null);
    this.addWidget(this._approval);

    this._footer = new RunFooter(() => this.trust());
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
    this._footer.update_(this._state, true);
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
    const promptKey = JSON.stringify([state.prompt, state.files]);
    if (promptKey !== this._promptKey) {
      this._promptKey = promptKey;
      this._prompt.node.textContent = state.prompt;
      if (state.files.length) {
        const chips = document.createElement('div');
        chips.className = 'jp-codeinterp-prompt-files';
        for (const path of state.files) {
          const chip = document.createElement('span');
          chip.className = 'jp-codeinterp-chip';
          chip.dataset.state = 'attached';
          chip.textContent = path.split('/').pop() ?? path;
          chip.title = path;
          chips.append(chip);
        }
        this._prompt.node.append(chips);
      }
    }
    this._prompt.node.hidden = !state.prompt;

    this._dropStale(state.items);
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
    this._approval.update_(state.pendingApproval);
    for (const [n, view] of this._steps) {
      view.setAwaiting(state.pendingApproval?.step === n);
    }
    this._footer.update_(state, this._trusted);

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

  /**
   * Shown items can be taken back (the text of a cut-off reply that is asked again): from the
   * first widget that no longer shows its item, the widgets go, to be made again for the items.
   */
  private _dropStale(items: RunItem[]): void {
    let keep = 0;
    while (
      keep < this._items.length &&
      keep < items.length &&
      this._itemKeys[keep] === itemKey(items[keep])
    ) {
      keep += 1;
    }
    for (const widget of this._items.splice(keep)) {
      for (const [n, view] of this._steps) {
        if (view === widget) {
          this._steps.delete(n);
        }
      }
      widget.dispose();
    }
    this._itemKeys.length = keep;
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
      this._itemKeys[index] = itemKey(item);
      this._body.addWidget(widget);
    }
    if (item.kind === 'text') {
      (widget as MarkdownView).setText(this._linked(item.text, index));
      widget.node.hidden = !item.text.trim();
    } else if (item.kind === 'step') {
      const step = this._state.steps.get(item.step);
      if (step) {
        (widget as StepView).update_(step);
      }
    }
  }

  /** The answer (the run's last text) with the files it names linked, once the run has ended. */
  private _linked(text: string, index: number): string {
    const s = this._state;
    const last = index === s.items.length - 1;
    const at = s.answer ? text.lastIndexOf(s.answer) : -1;
    if (!last || !s.annotations.length || at < 0) {
      return text;
    }
    const shifted = s.annotations.map(a => ({
      ...a,
      start: a.start + at,
      end: a.end + at
    }));
    return linkFiles(text, shifted);
  }

  private _state: IRunState;
  private _promptKey = '';
  private _trusted: boolean;
  private _prompt: Widget;
  private _body: Panel;
  private _thinking: Widget;
  private _footer: RunFooter;
  private _approval: ApprovalView;
  private _items: Widget[] = [];
  /** What each of `_items` shows (see `itemKey`). */
  private _itemKeys: string[] = [];
  private _steps = new Map<number, StepView>();
  private _timer: number | null = null;
}

/** What a widget made for an item shows: the same key, the same widget (updated in place). */
function itemKey(item: RunItem): string {
  switch (item.kind) {
    case 'text':
      return 'text';
    case 'step':
      return `step ${item.step}`;
    case 'notice':
      return `notice ${item.level} ${item.message}`;
  }
}
