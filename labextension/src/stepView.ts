/**
 * One code step of a run, live: its stage, the code (syntax-highlighted as it streams), a timer
 * while it runs, and its outputs rendered by JupyterLab's rendermime.
 */

import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import type { Output } from './events';
import { IFileActions, renderFiles } from './fileLinks';
import { describeHidden, limitOutputs } from './outputLimit';
import { outputPatch } from './outputs';
import type { IStepState } from './runState';

export interface IStepViewOptions {
  rendermime: IRenderMimeRegistry;
  languages: IEditorLanguageRegistry | null;
  /** Whether outputs may render active content: only once the user trusted them (default false). */
  trusted?: boolean;
  /** Opens and downloads the files a step wrote; without it they are listed only. */
  files?: IFileActions;
}

/**
 * When (client ms) a step began to run, from the server's time of it: that time when the two
 * clocks plausibly agree, so a step replayed after a reload shows its true elapsed time; `seenAt`
 * (when this page saw it start) otherwise.
 */
export function localStart(serverSeconds: number, seenAt: number): number {
  const serverMs = serverSeconds * 1000;
  return Math.abs(seenAt - serverMs) < 10 * 60 * 1000
    ? Math.min(serverMs, seenAt)
    : seenAt;
}

/** The words shown for a step's stage and final status; `since`: when it began to run (client ms). */
export function stageLabel(
  step: IStepState,
  since: number | null,
  now = Date.now()
): string {
  switch (step.stage) {
    case 'started':
      return 'Writing code…';
    case 'code_delta':
      return 'Writing code…';
    case 'in_progress': {
      const secs = since === null ? 0 : (now - since) / 1000;
      return `Running · ${formatSeconds(secs)}`;
    }
    case 'interpreting':
      return 'Interpreting…';
    case 'completed':
      return statusLabel(step);
    default:
      return step.stage;
  }
}

function statusLabel(step: IStepState): string {
  const took = step.elapsed ? ` · ${formatSeconds(step.elapsed)}` : '';
  switch (step.status) {
    case 'ok':
      return `Done${took}`;
    case 'error':
      return `Error${took}`;
    case 'timeout':
      return `Timed out${took}`;
    case 'kernel_restarted':
      return 'Kernel restarted';
    case 'cancelled':
      return 'Stopped';
    case 'skipped':
      return 'Not run';
    default:
      return step.status;
  }
}

export function formatSeconds(secs: number): string {
  if (secs < 10) {
    return `${secs.toFixed(1)} s`;
  }
  if (secs < 60) {
    return `${Math.round(secs)} s`;
  }
  const m = Math.floor(secs / 60);
  const s = Math.round(secs % 60);
  return `${m} min ${s} s`;
}

export class StepView extends Panel {
  constructor(
    step: number,
    private _options: IStepViewOptions
  ) {
    super();
    this.addClass('jp-codeinterp-step');
    this.node.dataset.step = String(step);
    this.node.setAttribute('role', 'group');
    this.node.setAttribute('aria-label', `Step ${step}`);

    const header = document.createElement('div');
    header.className = 'jp-codeinterp-step-header';
    const title = document.createElement('span');
    title.className = 'jp-codeinterp-step-title';
    title.textContent = `Step ${step}`;
    this._count = document.createElement('span');
    this._count.className = 'jp-codeinterp-step-count';
    this._stage = document.createElement('span');
    this._stage.className = 'jp-codeinterp-stage';
    header.append(title, this._count, this._stage);

    this._code = document.createElement('pre');
    this._code.className = 'jp-codeinterp-code cm-s-jupyter';
    this._code.setAttribute('aria-label', `Code of step ${step}`);
    this._code.tabIndex = 0;

    this._message = document.createElement('div');
    this._message.className = 'jp-codeinterp-step-message';

    this._outputModel = new OutputAreaModel({
      trusted: _options.trusted === true
    });
    this._outputs = new OutputArea({
      model: this._outputModel,
      rendermime: _options.rendermime
    });
    this._outputs.addClass('jp-codeinterp-outputs');

    const top = new Widget();
    top.addClass('jp-codeinterp-step-top');
    top.node.append(header, this._code, this._message);
    this._files = document.createElement('div');
    this._files.className = 'jp-codeinterp-files';
    this._files.hidden = true;
    const bottom = new Widget({ node: this._files });
    this._note = document.createElement('div');
    this._note.className = 'jp-codeinterp-output-note';
    this._note.hidden = true;
    this.addWidget(top);
    this.addWidget(this._outputs);
    this.addWidget(new Widget({ node: this._note }));
    this.addWidget(bottom);
  }

  /** Render the step's current state. */
  update_(step: IStepState): void {
    this.node.dataset.stage = step.stage;
    this.node.dataset.status = step.status;
    this._stage.dataset.stage = step.stage;
    this._stage.dataset.status = step.status;
    this._state = step;
    if (this._since === null && step.runningSince !== null) {
      this._since = localStart(step.runningSince, Date.now());
    }
    this.tick();
    this._count.textContent =
      step.executionCount !== null && step.executionCount !== undefined
        ? `[${step.executionCount}]`
        : '';
    this._message.textContent = step.message;
    this._message.hidden = !step.message;
    this._renderCode(step.code);
    this._renderOutputs(step.outputs.items);
    const filesKey = JSON.stringify([step.files, step.filesTruncated]);
    if (filesKey !== this._filesKey) {
      this._filesKey = filesKey;
      renderFiles(
        this._files,
        step.files,
        step.filesTruncated,
        this._options.files ?? null
      );
    }
  }

  /** Refresh the timer of a running step. */
  tick(): void {
    if (this._state) {
      this._stage.textContent = this._awaiting
        ? 'Waiting for approval'
        : stageLabel(this._state, this._since);
    }
  }

  /** The run is paused before this step (approval mode `ask`): nothing has run yet. */
  setAwaiting(awaiting: boolean): void {
    if (awaiting === this._awaiting) {
      return;
    }
    this._awaiting = awaiting;
    this.node.dataset.awaiting = awaiting ? 'true' : 'false';
    this.tick();
  }

  /** Re-render the outputs trusted (or not): the user's explicit choice. */
  setTrusted(trusted: boolean): void {
    this._outputModel.trusted = trusted;
  }

  get isRunning(): boolean {
    return this._state?.stage === 'in_progress';
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    super.dispose();
    this._outputModel.dispose();
  }

  private _renderCode(code: string): void {
    if (code === this._renderedCode) {
      return;
    }
    this._pendingCode = code;
    if (this._highlighting) {
      return;
    }
    this._highlighting = true;
    requestAnimationFrame(() => void this._highlight());
  }

  private async _highlight(): Promise<void> {
    while (this._pendingCode !== null && !this.isDisposed) {
      const code = this._pendingCode;
      this._pendingCode = null;
      const target = document.createElement('code');
      const languages = this._options.languages;
      try {
        if (languages) {
          const python = languages.findByName('python');
          await languages.highlight(code, python, target);
        } else {
          target.textContent = code;
        }
      } catch {
        target.textContent = code;
      }
      if (this.isDisposed) {
        return;
      }
      this._code.replaceChildren(target);
      this._renderedCode = code;
    }
    this._highlighting = false;
  }

  /**
   * Bring the output area to the step's settled outputs: what streamed in is appended (a stream
   * that grew gets its new text only), so live outputs never re-render; a clear or a different
   * list (the engine's at completion, a replay) replaces them.
   */
  private _renderOutputs(all: readonly Output[]): void {
    const { outputs, hidden } = limitOutputs(all);
    const note = hidden
      ? `${describeHidden(hidden)} more output not shown here: the notebook cell has all of it.`
      : '';
    if (note !== this._note.textContent) {
      this._note.textContent = note;
      this._note.hidden = !note;
    }
    const patch = outputPatch(this._shown, outputs);
    if (!patch) {
      return;
    }
    const model = this._outputModel;
    if (patch.kind === 'append') {
      for (const output of patch.outputs) {
        model.add(output as any);
      }
    }
    if (patch.kind === 'reset' || model.length !== outputs.length) {
      model.fromJSON(outputs as any);
    }
    this._shown = [...outputs];
  }

  private _state: IStepState | null = null;
  private _awaiting = false;
  private _count: HTMLSpanElement;
  private _stage: HTMLSpanElement;
  private _code: HTMLPreElement;
  private _message: HTMLDivElement;
  private _files: HTMLDivElement;
  private _note: HTMLDivElement;
  private _filesKey = '';
  private _outputs: OutputArea;
  private _outputModel: OutputAreaModel;
  private _renderedCode: string | null = null;
  private _pendingCode: string | null = null;
  private _highlighting = false;
  /** The outputs the area shows (the settled list last rendered). */
  private _shown: Output[] = [];
  /** When the step began to run, on this page's clock. */
  private _since: number | null = null;
}
