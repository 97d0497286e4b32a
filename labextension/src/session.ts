/**
 * The Code Interpreter state of one open notebook: its thread, the views of its runs, the runs
 * being followed (runFollower.ts) and the writer that puts cells into the notebook. Lives as long
 * as the notebook panel; the sidebar shows the session of the active notebook.
 */

import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import type { CellRole } from './cells';
import type { ApprovalMode, RunEvent } from './events';
import { folderOf, fromRoot, IFileActions } from './fileLinks';
import { LIVE_OUTPUT_BATCH_MS, NotebookWriter } from './notebookWriter';
import {
  cancelRun,
  decideApproval,
  IApprovalDecision,
  IRunRecord,
  recentRuns,
  startRun
} from './request';
import { RunFollower } from './runFollower';
import { eventsFromRecord, isActive } from './runState';
import { RunView } from './runView';
import { ISpending, sumSpending } from './spending';
import {
  historyAction,
  latestThread,
  recentRunAction,
  threadRuns,
  withSteps
} from './threadHistory';

export interface IUISettings {
  autoScroll: boolean;
  addPromptCell: boolean;
  addAnswerCell: boolean;
}

export interface ISessionOptions {
  rendermime: IRenderMimeRegistry;
  languages: IEditorLanguageRegistry | null;
  settings: () => IUISettings;
  /** Open a file (path from the Jupyter root) in JupyterLab, and where it downloads from. */
  openFile?: (path: string) => void;
  downloadUrl?: (path: string) => Promise<string>;
}

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
      outputBatchMs: LIVE_OUTPUT_BATCH_MS,
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

  /** What the runs of this thread shown here have spent together. */
  spending(): ISpending {
    return sumSpending([...this._runs.values()].map(view => view.state.usage));
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

  /** The approval mode of this thread's next runs: the user's choice for it, else `fallback`. */
  approval(fallback: ApprovalMode): ApprovalMode {
    const stored = readSetting(this._approvalKey());
    if (stored === 'ask' || stored === 'auto') {
      return stored;
    }
    return this._approvalChoice ?? fallback;
  }

  /** Choose the approval mode of this thread's next runs (kept for the thread in this browser). */
  setApproval(mode: ApprovalMode): void {
    this._approvalChoice = mode;
    writeSetting(this._approvalKey(), mode);
  }

  /** Decide the step a run of this notebook is paused before. */
  async decide(runId: string, decision: IApprovalDecision): Promise<void> {
    await decideApproval(runId, decision);
  }

  /** Start a run on this notebook's kernel and follow it. */
  async send(
    prompt: string,
    model?: string,
    approval?: ApprovalMode,
    files: string[] = []
  ): Promise<string> {
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
    if (approval) {
      body.approval = approval;
    }
    if (files.length) {
      body.files = files;
    }
    const { run_id, thread_id } = await startRun(body);
    this._threadId = thread_id;
    if (this._approvalChoice) {
      writeSetting(this._approvalKey(), this._approvalChoice);
    }
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
      if (this._disposed) {
        return;
      }
      const view = this._runs.get(run.run_id);
      const action = recentRunAction(run, {
        following: this._followers.has(run.run_id),
        seen: view ? { active: isActive(view.state) } : null,
        threadId: this._threadId,
        busy: !!this.activeRunId
      });
      if (action === 'skip') {
        continue;
      }
      if (action === 'later') {
        // Busy with a run of our own: look again once it is over.
        next = next === null ? null : Math.min(next, run.created);
        continue;
      }
      if (action === 'switch') {
        await this._showThread(run.thread_id);
      }
      if (!this._followers.has(run.run_id) && !this._disposed) {
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
    this._clearViews();
    this._changed.emit();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    for (const follower of this._followers.values()) {
      follower.dispose();
    }
    this._followers.clear();
    this.view.dispose();
    Signal.clearData(this);
  }

  private async _load(): Promise<void> {
    await this.panel.context.ready;
    if (this._disposed) {
      return;
    }
    const { thread, since } = await latestThread(this.panel.context.path);
    this._since = since;
    if (!thread || this._disposed) {
      return;
    }
    if (this._threadId === null) {
      this._threadId = thread.thread_id;
    }
    await this._showHistory(thread.thread_id, thread.runs ?? []);
  }

  private _clearViews(): void {
    for (const view of this._runs.values()) {
      view.dispose();
    }
    this._runs.clear();
    this._empty.node.hidden = false;
  }

  /** Replace the view with another thread of this notebook (none of its runs is followed). */
  private async _showThread(threadId: string): Promise<void> {
    this._clearViews();
    this._threadId = threadId;
    await this._showHistory(threadId, []);
  }

  /** Show a thread's last runs; follow (and write) those still going or whose cells the notebook lacks. */
  private async _showHistory(
    threadId: string,
    summaries: IRunRecord[]
  ): Promise<void> {
    const runs = await threadRuns(threadId, summaries);
    const lastModified = this.panel.context.contentsModel?.last_modified;
    const savedAt = lastModified ? Date.parse(lastModified) : 0;
    for (const record of runs) {
      if (this._runs.has(record.run_id) || this._disposed) {
        continue;
      }
      const cells = this.writer.cellsOfRun(record.run_id);
      if (historyAction(record, cells, savedAt) === 'follow') {
        // Replay from the server: the notebook gets every cell exactly once.
        this._follow(record.run_id, true);
        continue;
      }
      const full = await withSteps(record);
      this._viewFor(record.run_id).applyAll(eventsFromRecord(full));
    }
    this._changed.emit();
  }

  /** The files a run wrote are in the notebook's folder (the kernel's working folder). */
  private _fileActions(): IFileActions | undefined {
    const { openFile, downloadUrl } = this._options;
    if (!openFile || !downloadUrl) {
      return undefined;
    }
    const root = (path: string) =>
      fromRoot(folderOf(this.panel.context.path), path);
    return {
      open: path => openFile(root(path)),
      downloadUrl: path => downloadUrl(root(path))
    };
  }

  private _viewFor(runId: string): RunView {
    let view = this._runs.get(runId);
    if (!view) {
      view = new RunView(runId, {
        rendermime: this._options.rendermime,
        languages: this._options.languages,
        // Untrusted until the user trusts the run; then its notebook cells are trusted too.
        trusted: false,
        onTrusted: id => this.writer.trustRun(id),
        onDecide: decision => this.decide(runId, decision),
        files: this._fileActions()
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
    if (this._followers.has(runId)) {
      return;
    }
    const follower = new RunFollower(this._viewFor(runId), this.writer, {
      joining,
      event: event => {
        if (event.type === 'run_started' && event.thread_id) {
          this._threadId = event.thread_id;
        }
        this._eventApplied.emit(event);
        if (event.type === 'run_started' || event.type === 'run_ended') {
          this._changed.emit();
        }
      },
      finished: () => this._followers.delete(runId),
      changed: () => this._changed.emit()
    });
    this._followers.set(runId, follower);
    this._changed.emit();
  }

  private _approvalKey(): string | null {
    return this._threadId && this._threadId !== 'new'
      ? `jupyter-codeinterp:approval:${this._threadId}`
      : null;
  }

  private _threadId: string | null = null;
  /** The approval mode the user last chose in this session (for a thread not created yet too). */
  private _approvalChoice: ApprovalMode | null = null;
  private _since: number | null = null;
  private _runs = new Map<string, RunView>();
  private _followers = new Map<string, RunFollower>();
  private _empty: Widget;
  private _loading: Promise<void> | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _eventApplied = new Signal<this, RunEvent>(this);
}

function readSetting(key: string | null): string | null {
  if (!key) {
    return null;
  }
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeSetting(key: string | null, value: string): void {
  if (!key) {
    return;
  }
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // storage full or disabled: the choice holds for this session only
  }
}
