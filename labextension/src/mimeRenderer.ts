/**
 * The MIME renderer of `%%interpret`: shows a run's bundle
 * (`application/vnd.codeinterp.run+json`, `{version, run_id, events}`) with the same view as the
 * sidebar and, inside a notebook, appends the run's code cells with their outputs below the magic
 * cell as they run. Re-rendering (display updates, reopening the notebook) never duplicates them.
 * `data-cells` on the renderer says what it decided: `written` (it writes the run's cells) or
 * `kept` (a saved run whose cells the notebook has, or had and lost on purpose: left as they are).
 *
 * The bundle's own trust says only that the user ran the `%%interpret` cell, not that the model's
 * code made safe outputs: the run renders untrusted whatever it is, until the user trusts it.
 */

import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Message } from '@lumino/messaging';
import { Panel } from '@lumino/widgets';

import { RunEvent } from './events';
import { LIVE_OUTPUT_BATCH_MS, NotebookWriter } from './notebookWriter';
import { RunView } from './runView';

export const RUN_MIME_TYPE = 'application/vnd.codeinterp.run+json';

export interface IRunBundle {
  version: number;
  run_id: string;
  events: RunEvent[];
}

export interface IRendererDeps {
  tracker: INotebookTracker | null;
  rendermime: () => IRenderMimeRegistry;
  languages: IEditorLanguageRegistry | null;
  autoScroll: () => boolean;
}

export class RunRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(
    private _rendererOptions: IRenderMime.IRendererOptions,
    private _deps: IRendererDeps
  ) {
    super();
    this.addClass('jp-codeinterp-mime');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const bundle = model.data[this._rendererOptions.mimeType] as unknown as
      IRunBundle | undefined;
    if (!bundle || typeof bundle.run_id !== 'string') {
      this.node.textContent = 'Not a Code Interpreter run.';
      return;
    }
    const events = Array.isArray(bundle.events) ? bundle.events : [];
    if (!this._view || this._view.state.runId !== bundle.run_id) {
      this._view?.dispose();
      this._written = 0;
      this._view = new RunView(bundle.run_id, {
        rendermime: this._deps.rendermime(),
        languages: this._deps.languages,
        showPrompt: false,
        trusted: false,
        onTrusted: runId => this._writer()?.trustRun(runId)
      });
      this.addWidget(this._view);
      // A bundle first seen without its end is a live run: its cells belong in the notebook.
      this._live = !events.some(e => e.type === 'run_ended');
    }
    // Each bundle holds the whole (compacted) log so far: show it as it is.
    this._view.replay(events);
    this._events = events;
    this._writeCells();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._writeCells();
  }

  /** Append (or complete) the run's code cells below the magic cell. */
  private _writeCells(): void {
    const runId = this._view?.state.runId;
    if (!runId || !this.isAttached) {
      return;
    }
    const writer = this._writer();
    if (!writer) {
      return;
    }
    if (!this._live) {
      const cells = writer.cellsOfRun(runId);
      // A saved output re-rendered: complete cells a closed tab missed, never re-add deleted ones.
      if (cells.count === 0 || cells.ended) {
        this.node.dataset.cells = 'kept';
        return;
      }
      this._live = true;
    }
    for (const event of this._events) {
      if (event.seq > this._written) {
        this._written = event.seq;
        try {
          writer.apply(event);
        } catch (error) {
          console.error(
            'codeinterp: could not write the event to the notebook',
            error
          );
        }
      }
    }
    this.node.dataset.cells = 'written';
  }

  dispose(): void {
    this._unfollow();
    super.dispose();
  }

  private _unfollow(): void {
    const runId = this._view?.state.runId;
    if (this._following && runId && this._notebookWriter) {
      this._notebookWriter.unfollow(runId);
    }
    this._following = false;
  }

  private _writer(): NotebookWriter | null {
    if (this._notebookWriter && !this._notebookWriter.panel.isDisposed) {
      return this._notebookWriter;
    }
    const found = this._findCell();
    if (!found) {
      return null;
    }
    const { panel, cellId } = found;
    this._notebookWriter = new NotebookWriter(panel, {
      roles: () => new Set(['code']),
      anchorCellId: () => cellId,
      autoScroll: () => false,
      outputBatchMs: LIVE_OUTPUT_BATCH_MS
    });
    return this._notebookWriter;
  }

  private _findCell(): { panel: NotebookPanel; cellId: string } | null {
    const tracker = this._deps.tracker;
    if (!tracker) {
      return null;
    }
    let result: { panel: NotebookPanel; cellId: string } | null = null;
    tracker.forEach(panel => {
      if (result || !panel.node.contains(this.node)) {
        return;
      }
      for (const cell of panel.content.widgets) {
        if (cell.node.contains(this.node)) {
          result = { panel, cellId: cell.model.id };
          return;
        }
      }
    });
    return result;
  }

  private _view: RunView | null = null;
  private _events: RunEvent[] = [];
  private _written = 0;
  private _live = false;
  private _following = false;
  private _notebookWriter: NotebookWriter | null = null;
}
