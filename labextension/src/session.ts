/**
 * The Code Interpreter state of one open notebook: its thread, the views of its runs, the run
 * being followed and the writer that puts cells into the notebook. Lives as long as the notebook
 * panel; the sidebar shows the session of the active notebook.
 */

import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import type { CellRole } from './cells';
import { isActiveStatus, isFinal, RunEvent } from './events';
import { NotebookWriter } from './notebookWriter';
import {
  APIError,
  cancelRun,
  getRun,
  getThread,
  IRunRecord,
  listThreads,
  recentRuns,
  startRun
} from './request';
import { RunClient } from './runClient';
import { eventsFromRecord, isActive } from './runState';
import { RunView } from './runView';

export interface IUISettings {
  autoScroll: boolean;
  addPromptCell: boolean;
  addAnswerCell: boolean;
}

export interface ISessionOptions {
  rendermime: IRenderMimeRegistry;
  languages: IEditorLanguageRegistry | null;
  settings: () => IUISettings;
}

/** How long a tab keeps its claim on writing a run after the run ended (collaboration). */
const HANDOFF_GRACE_MS = 10_000;

/** How many past runs of a thread to show when a notebook is opened. */
const HISTORY_RUNS = 20;

export class NotebookSession {
  constructor(
    readonly panel: NotebookPanel,
    private _options: ISessionOptions
  ) {
    this.view = new Panel();
    this.view.addClass('jp-codeinterp-thread');
    this._empty = new Widget();
    this._empty.addClass('jp-codeinterp-empty');
    this._empty.node.innerHTML =
      '<p class="jp-codeinterp-empty-title">Ask for an analysis, a plot or a fix.</p>' +
      '<p>The model writes Python, runs it in this notebook’s kernel and reads the results. ' +
      'Each step appears here and as a cell in the notebook.</p>';
    this.view.addWidget(this._empty);
    this.writer = new NotebookWriter(panel, {
      roles: () => {
        const s = this._options.settings();
        const roles = new Set<CellRole>(['code']);
        if (s.addPromptCell) {
          roles.add('prompt');
        }
        if (s.addAnswerCell) {
          roles.add('answer');
        }
        return roles;
      },
      threadRunIds: () => this._runs.keys(),
      autoScroll: () => this._options.settings().autoScroll
    });
    panel.disposed.connect(() => this.dispose());
  }

  /** The chat view of this notebook's thread. */
  readonly view: Panel;
  readonly writer: NotebookWriter;

  get threadId(): string | null {
    return this._threadId;
  }

  /** The run in progress, if any. */
  get activeRunId(): string | null {
    for (const [runId, view] of this._runs) {
      if (isActive(view.state)) {
        return runId;
      }
    }
    return null;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted for every run event applied (the sidebar scrolls on it). */
  get eventApplied(): ISignal<this, RunEvent> {
    return this._eventApplied;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  get loaded(): Promise<void> {
    if (!this._loading) {
      this._loading = this._load();
    }
    return this._loading;
  }

  /** Start a run on this notebook's kernel and follow it. */
  async send(prompt: string, model?: string): Promise<string> {
    const kernel = this.panel.sessionContext.session?.kernel;
    if (!kernel) {
      throw new Error('No kernel is running for this notebook.');
    }
    const body: Parameters<typeof startRun>[0] = {
      kernel_id: kernel.id,
      prompt,
      notebook_path: this.panel.context.path
    };
    if (this._threadId) {
      body.thread_id = this._threadId;
    }
    if (model) {
      body.model = model;
    }
    const { run_id, thread_id } = await startRun(body);
    this._threadId = thread_id;
    this._follow(run_id, false);
    return run_id;
  }

  /** Stop the active run. */
  async stop(): Promise<void> {
    const runId = this.activeRunId;
    if (runId) {
      await cancelRun(runId);
    }
  }

  /**
   * Pick up runs on this notebook that this tab did not start (a script through the API, another
   * window) and follow them, writing their cells, even one that began and ended between two checks.
   * A run in another thread of the notebook brings that thread into view, unless this tab is
   * following a run of its own. Rejects when the server cannot be asked, so that a poll backs off.
   */
  async checkForRuns(): Promise<void> {
    if (this._disposed || !this._loading) {
      return;
    }
    await this._loading;
    const { runs, now } = await recentRuns(
      this.panel.context.path,
      this._since
    );
    let next = now;
    for (const run of runs) {
      if (this._disposed || this._clients.has(run.run_id)) {
        continue;
      }
      const seen = this._runs.has(run.run_id);
      if (seen && !isActive(this._runs.get(run.run_id)!.state)) {
        continue; // this tab's own run, or one it already followed to its end
      }
      if (run.thread_id !== this._threadId) {
        if (this.activeRunId) {
          // Busy with a run of our own: look again once it is over.
          next = next === null ? null : Math.min(next, run.created);
          continue;
        }
        await this._showThread(run.thread_id);
      }
      if (!this._clients.has(run.run_id) && !this._disposed) {
        // Replayed from its first event: the notebook gets each of its cells once.
        this._follow(run.run_id, true);
      }
    }
    this._since = next;
  }

  /** Start a fresh thread: the next prompt does not see the previous conversation. */
  newThread(): void {
    if (this.activeRunId) {
      return;
    }
    this._threadId = 'new';
    for (const view of this._runs.values()) {
      view.dispose();
    }
    this._runs.clear();
    this._empty.node.hidden = false;
    this._changed.emit();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    for (const client of this._clients.values()) {
      client.dispose();
    }
    this._clients.clear();
    this.view.dispose();
    Signal.clearData(this);
  }

  private async _load(): Promise<void> {
    await this.panel.context.ready;
    if (this._disposed) {
      return;
    }
    try {
      // The server's time before the threads are read: later runs are found by checkForRuns.
      this._since = (await recentRuns(this.panel.context.path, null)).now;
    } catch {
      this._since = null;
    }
    let threads;
    try {
      threads = await listThreads(this.panel.context.path);
    } catch (error) {
      if (error instanceof APIError && error.status === 404) {
        return;
      }
      throw error;
    }
    const thread = threads[0];
    if (!thread || this._disposed) {
      return;
    }
    if (this._threadId === null) {
      this._threadId = thread.thread_id;
    }
    await this._showHistory(thread.thread_id, thread.runs ?? []);
  }

  /** Replace the view with another thread of this notebook (none of its runs is followed). */
  private async _showThread(threadId: string): Promise<void> {
    for (const view of this._runs.values()) {
      view.dispose();
    }
    this._runs.clear();
    this._threadId = threadId;
    this._empty.node.hidden = false;
    await this._showHistory(threadId, []);
  }

  /** Show a thread's last runs; follow (and write) those still going or whose cells the notebook lacks. */
  private async _showHistory(
    threadId: string,
    summaries: IRunRecord[]
  ): Promise<void> {
    // The thread's full record has every run with its steps, in one request.
    let runs: IRunRecord[] = summaries;
    try {
      runs = (await getThread(threadId)).runs ?? runs;
    } catch {
      // keep the summaries
    }
    runs = [...runs]
      .sort((a, b) => (a.created ?? 0) - (b.created ?? 0))
      .slice(-HISTORY_RUNS);
    const lastModified = this.panel.context.contentsModel?.last_modified;
    const savedAt = lastModified ? Date.parse(lastModified) : 0;
    for (const record of runs) {
      if (this._runs.has(record.run_id) || this._disposed) {
        continue;
      }
      const active = isActiveStatus(record.status);
      const cells = this.writer.cellsOfRun(record.run_id);
      // The file was last saved before this run ended, and holds none of its cells: the tab was
      // closed mid-run without saving (a file saved later without them had them deleted on purpose).
      const unsaved =
        cells.count === 0 &&
        !!record.ended &&
        savedAt > 0 &&
        record.ended * 1000 > savedAt;
      if (active || (cells.count > 0 && !cells.ended) || unsaved) {
        // Replay from the server: the notebook gets every cell exactly once.
        this._follow(record.run_id, true);
        continue;
      }
      let full = record;
      if (!record.steps) {
        try {
          full = await getRun(record.run_id);
        } catch {
          full = record;
        }
      }
      const view = this._viewFor(record.run_id);
      view.applyAll(eventsFromRecord(full));
    }
    this._changed.emit();
  }

  private _viewFor(runId: string): RunView {
    let view = this._runs.get(runId);
    if (!view) {
      view = new RunView(runId, {
        rendermime: this._options.rendermime,
        languages: this._options.languages,
        // Untrusted until the user trusts the run; then its notebook cells are trusted too.
        trusted: false,
        onTrusted: id => this.writer.trustRun(id)
      });
      this._runs.set(runId, view);
      this.view.addWidget(view);
      this._empty.node.hidden = true;
    }
    return view;
  }

  /**
   * Show a run live and write its cells. `joining`: the run was not started by this tab (it is
   * replayed from its first event), so with collaborators it may be someone else's to write.
   */
  private _follow(runId: string, joining: boolean): void {
    if (this._clients.has(runId)) {
      return;
    }
    const view = this._viewFor(runId);
    const client = new RunClient(runId, 0);
    this._clients.set(runId, client);
    this.writer.follow(runId, { joining });
    client.event.connect((_, event) => {
      if (this._disposed) {
        return;
      }
      view.apply(event);
      try {
        this.writer.apply(event);
      } catch (error) {
        console.error(
          'codeinterp: could not write the event to the notebook',
          error
        );
      }
      if (event.type === 'run_started' && event.thread_id) {
        this._threadId = event.thread_id;
      }
      this._eventApplied.emit(event);
      if (event.type === 'run_started' || event.type === 'run_ended') {
        this._changed.emit();
      }
    });
    client.finished.connect(() => {
      this._clients.delete(runId);
      if (isActive(view.state)) {
        this.writer.unfollow(runId);
      } else {
        // Stay the run's writer a little longer: a collaborating tab that is a few events behind
        // would otherwise take over and rewrite outputs this tab wrote but it has not yet received.
        window.setTimeout(() => this.writer.unfollow(runId), HANDOFF_GRACE_MS);
      }
      const lastSeq = client.lastSeq;
      client.dispose();
      if (!this._disposed && isActive(view.state)) {
        // The stream ended without run_ended (run unknown, or the server lost it): settle the view.
        void this._settle(view, lastSeq);
      } else if (!this._disposed) {
        this._changed.emit();
      }
    });
    client.start();
    this._changed.emit();
  }

  private async _settle(view: RunView, lastSeq: number): Promise<void> {
    let record: IRunRecord | null = null;
    try {
      record = await getRun(view.state.runId);
    } catch {
      record = null;
    }
    const final = record && isFinal(record.status);
    view.apply({
      seq: lastSeq + 1,
      run_id: view.state.runId,
      time: Date.now() / 1000,
      type: 'run_ended',
      status: final
        ? (record!.status as 'completed' | 'failed' | 'cancelled')
        : 'failed',
      reason: final
        ? record!.reason
        : 'Lost the connection to this run; reopen the notebook to see how it ended.',
      answer: final ? record!.answer : '',
      usage: view.state.usage,
      steps: view.state.steps.size
    });
    this._changed.emit();
  }

  private _threadId: string | null = null;
  private _since: number | null = null;
  private _runs = new Map<string, RunView>();
  private _clients = new Map<string, RunClient>();
  private _empty: Widget;
  private _loading: Promise<void> | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _eventApplied = new Signal<this, RunEvent>(this);
}
