/**
 * The prompt box below the thread: Enter sends, Shift+Enter adds a line; Stop replaces Send while
 * a run is going; and the model of the next runs (a dropdown when the endpoint lists several).
 */

import { Widget } from '@lumino/widgets';

import { button, el } from './dom';
import { attachmentIcon as attachIcon } from './icon';
import type { ApprovalMode } from './events';
import type { IServerConfig } from './request';

export interface IComposerOptions {
  send: () => void;
  stop: () => void;
  /** The user flipped "Ask before running code" (for this thread's next runs). */
  approvalChanged: (mode: ApprovalMode) => void;
  /** Files picked with the paperclip or pasted into the prompt. */
  attach: (files: File[]) => void;
  /** The user took an attached file off the prompt. */
  detach: (name: string) => void;
}

/** A file on the prompt: uploading (`progress` 0..1), attached (`path`), or refused (`error`). */
export interface IAttachment {
  name: string;
  path?: string;
  progress?: number;
  error?: string;
}

/** What the sidebar knows that decides the buttons. */
export interface IComposerState {
  /** A notebook is bound (else nothing can be typed). */
  ready: boolean;
  /** A run of this notebook is going: Stop instead of Send. */
  running: boolean;
  /** Something keeps a prompt from being sent now (sending, no kernel, not configured). */
  blocked: boolean;
}

export class Composer extends Widget {
  constructor(options: IComposerOptions) {
    super();
    this.addClass('jp-codeinterp-composer');
    const label = el('label', 'jp-codeinterp-sr-only', 'Prompt');
    label.htmlFor = 'jp-codeinterp-input';
    this._input = el('textarea', 'jp-codeinterp-input jp-mod-styled');
    this._input.id = 'jp-codeinterp-input';
    this._input.rows = 3;
    this._input.placeholder = 'Ask the Code Interpreter…';
    this._input.setAttribute('aria-label', 'Prompt for the Code Interpreter');
    this._input.setAttribute('aria-describedby', 'jp-codeinterp-hint');
    this._input.addEventListener('keydown', event => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        options.send();
      }
    });
    this._input.addEventListener('input', () => this.setState(this._state));
    this._input.addEventListener('paste', event => {
      const files = [...(event.clipboardData?.files ?? [])];
      if (files.length) {
        event.preventDefault();
        options.attach(files);
      }
    });
    this._picker = el('input', 'jp-codeinterp-file-picker');
    this._picker.type = 'file';
    this._picker.multiple = true;
    this._picker.hidden = true;
    this._picker.addEventListener('change', () => {
      const files = [...(this._picker.files ?? [])];
      this._picker.value = '';
      if (files.length) {
        options.attach(files);
      }
    });
    this._clip = button('jp-mod-minimal jp-codeinterp-attach', '', () =>
      this._picker.click()
    );
    attachIcon.element({ container: this._clip, tag: 'span' });
    this._clip.title =
      'Attach files (or drop them on the sidebar, or paste them)';
    this._clip.setAttribute('aria-label', 'Attach files');
    this._chips = el('div', 'jp-codeinterp-chips');
    this._chips.hidden = true;
    this._detach = options.detach;
    const row = el('div', 'jp-codeinterp-composer-row');
    const hint = el(
      'span',
      'jp-codeinterp-hint',
      'Enter to send · Shift+Enter for a new line'
    );
    hint.id = 'jp-codeinterp-hint';
    this._send = button('jp-mod-accept jp-codeinterp-send', 'Send', () =>
      options.send()
    );
    this._send.setAttribute('aria-label', 'Send prompt');
    this._stop = button('jp-mod-warn jp-codeinterp-stop', 'Stop', () => {
      this._stop.disabled = true;
      options.stop();
    });
    this._stop.setAttribute('aria-label', 'Stop the run');
    row.append(this._clip, this._picker, hint, this._stop, this._send);
    this._modelInfo = el('div', 'jp-codeinterp-model');
    // The endpoint's models, when the server lists them: the choice applies to the next runs.
    this._modelSelect = el(
      'select',
      'jp-mod-styled jp-codeinterp-model-select'
    );
    this._modelSelect.id = 'jp-codeinterp-model-select';
    this._modelSelect.title = 'Model for the next runs';
    this._modelSelect.addEventListener('change', () => {
      this._chosenModel = this._modelSelect.value;
    });
    this._modelHost = el('span', 'jp-codeinterp-model-host');
    this._modelRow = el('div', 'jp-codeinterp-model-row');
    const modelLabel = el('label', 'jp-codeinterp-model-label', 'Model');
    modelLabel.htmlFor = this._modelSelect.id;
    this._modelRow.append(modelLabel, this._modelSelect, this._modelHost);
    // Approval mode of this thread's next runs: ask before each execution, or not.
    this._approval = el('input', 'jp-codeinterp-approval-toggle');
    this._approval.type = 'checkbox';
    this._approval.id = 'jp-codeinterp-approval-toggle';
    this._approval.addEventListener('change', () =>
      options.approvalChanged(this._approval.checked ? 'ask' : 'auto')
    );
    const approvalLabel = el(
      'label',
      'jp-codeinterp-approval-label',
      'Ask before running code'
    );
    approvalLabel.htmlFor = this._approval.id;
    approvalLabel.title =
      'Pause before each step so you can run, edit, skip or stop it (for this thread; takes effect with the next prompt).';
    const approvalRow = el('div', 'jp-codeinterp-approval-row');
    approvalRow.append(this._approval, approvalLabel);
    this.node.append(
      label,
      this._chips,
      this._input,
      row,
      approvalRow,
      this._modelRow,
      this._modelInfo
    );
  }

  /** Show the files on the prompt as chips (each with a remove button). */
  setAttachments(files: readonly IAttachment[]): void {
    this._attachments = files;
    this._chips.replaceChildren();
    this._chips.hidden = files.length === 0;
    for (const file of files) {
      const chip = el('span', 'jp-codeinterp-chip');
      chip.dataset.name = file.name;
      chip.dataset.state = file.error
        ? 'error'
        : file.path
          ? 'attached'
          : 'uploading';
      const label =
        file.error ??
        (file.path
          ? file.name
          : `${file.name} · ${Math.round((file.progress ?? 0) * 100)}%`);
      chip.append(el('span', 'jp-codeinterp-chip-name', label));
      chip.title = file.error ?? file.path ?? `Uploading ${file.name}`;
      const remove = el('button', 'jp-codeinterp-chip-remove', '×');
      remove.type = 'button';
      remove.setAttribute('aria-label', `Remove ${file.name}`);
      remove.addEventListener('click', () => this._detach(file.name));
      chip.append(remove);
      this._chips.append(chip);
    }
    this.setState(this._state);
  }

  /** The files attached (uploaded) so far, as paths from the Jupyter root. */
  get files(): string[] {
    return this._attachments.filter(f => !!f.path).map(f => f.path as string);
  }

  /** Show the approval mode of the thread's next runs. */
  setApproval(mode: ApprovalMode): void {
    this._approval.checked = mode === 'ask';
  }

  /** The prompt typed, trimmed. */
  get prompt(): string {
    return this._input.value.trim();
  }

  clear(): void {
    this._input.value = '';
    this.setState(this._state);
  }

  focus(): void {
    this._input.focus();
  }

  /** Whether Stop is shown (a run is going). */
  get running(): boolean {
    return !this._stop.hidden;
  }

  setState(state: IComposerState): void {
    this._state = state;
    this._stop.hidden = !state.running;
    this._stop.disabled = !state.running;
    this._send.hidden = state.running;
    const uploading = this._attachments.some(f => !f.path && !f.error);
    this._send.disabled =
      !state.ready || state.blocked || !this.prompt || uploading;
    this._input.disabled = !state.ready;
    this._clip.disabled = !state.ready;
  }

  /**
   * The model for the next run, if the user picked one other than the server's default.
   * `undefined`: the server's own.
   */
  modelFor(config: IServerConfig | null): string | undefined {
    return this._chosenModel && this._chosenModel !== config?.model
      ? this._chosenModel
      : undefined;
  }

  /** Show the server's model, or a dropdown of the endpoint's models when there are several. */
  setModels(config: IServerConfig | null, listed: string[]): void {
    const models = [...listed];
    if (config?.model && !models.includes(config.model)) {
      models.unshift(config.model);
    }
    const choose = models.length > 1;
    this._modelRow.hidden = !choose;
    this._modelInfo.hidden = choose;
    if (!choose) {
      this._modelInfo.textContent = config?.model
        ? `${config.model}${config.base_url_host ? ` · ${config.base_url_host}` : ''}`
        : '';
      return;
    }
    const current = [...this._modelSelect.options].map(o => o.value);
    if (JSON.stringify(current) !== JSON.stringify(models)) {
      this._modelSelect.replaceChildren(
        ...models.map(m => {
          const option = document.createElement('option');
          option.value = m;
          option.textContent = m;
          return option;
        })
      );
    }
    this._modelSelect.value = this._chosenModel || config?.model || '';
    this._modelHost.textContent = config?.base_url_host ?? '';
  }

  private _state: IComposerState = {
    ready: false,
    running: false,
    blocked: false
  };
  private _input: HTMLTextAreaElement;
  private _picker: HTMLInputElement;
  private _clip: HTMLButtonElement;
  private _chips: HTMLDivElement;
  private _attachments: readonly IAttachment[] = [];
  private _detach: (name: string) => void;
  private _approval: HTMLInputElement;
  private _send: HTMLButtonElement;
  private _stop: HTMLButtonElement;
  private _modelRow: HTMLDivElement;
  private _modelInfo: HTMLDivElement;
  private _modelSelect: HTMLSelectElement;
  private _modelHost: HTMLSpanElement;
  private _chosenModel = '';
}
