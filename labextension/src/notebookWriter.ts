/**
 * Writes a run into a notebook as it streams. Each event is folded into the run's state
 * (runState.ts) and the cells it touched are upserted to what `runCells` says (cells.ts, the
 * format the CLI writes too): the prompt cell at the start, a step's code cell from its start
 * (source growing as code streams, outputs arriving live), the answer or failure note at the end;
 * a step that ended `skipped` loses its cell.
 *
 * A cell is looked up by its tag key before one is inserted, so applying an event twice,
 * replaying a run after a reload, or a second tab writing the same run through real-time
 * collaboration never leaves a duplicate (and the one writer per run is agreed in writerClaim.ts).
 *
 * The cells are untrusted, like the cells of a notebook someone else sent: their outputs come
 * from model-written code and render sanitised until the user trusts them (JupyterLab's
 * "Trust Notebook", or "Trust outputs" on the run in the sidebar, see `trustRun`).
 */

import type { ISharedCell } from '@jupyter/ydoc';
import type { NotebookPanel } from '@jupyterlab/notebook';

import { duplicates, findCell } from './cellPlacement';
import { CellRole, ICellSpec, runCells, tagKey } from './cells';
import { isFinal, RunEvent } from './events';
import { cellTag, NotebookCells } from './notebookCells';
import {
  applyEvent,
  IRunState,
  newRunState,
  RECORDED_STEP_STATUSES
} from './runState';
import { awarenessOf, JOIN_GRACE_MS, WriterClaim } from './writerClaim';

export interface IWriterOptions {
  /** Which kinds of cells to write. */
  roles: () => Set<CellRole>;
  /** Run ids of the thread, to place a new run's cells below the thread's last cell. */
  threadRunIds?: () => Iterable<string>;
  /** Id of the cell below which cells go when the run has none yet (the `%%interpret` cell). */
  anchorCellId?: () => string | null;
  /** Scroll the notebook to the cell being written. */
  autoScroll?: () => boolean;
  /**
   * Live outputs are written at most this often (ms; 0: each as it comes). JupyterLab renders a
   * stream output again whole each time text is appended to it, so a step printing megabytes in
   * many pieces would otherwise be rendered as many times; any other event writes them first.
   */
  outputBatchMs?: number;
}

/** How often the sidebar's and the magic's writers write live outputs (see `outputBatchMs`). */
export const LIVE_OUTPUT_BATCH_MS = 150;

function isLiveOutput(event: RunEvent): boolean {
  return (
    event.type === 'step' && event.stage === 'in_progress' && 'output' in event
  );
}

/** What one event asks the notebook for: the cells to upsert (null: all of the run's). */
function touched(event: RunEvent | null): (spec: ICellSpec) => boolean {
  if (event === null || event.type === 'run_ended') {
    return () => true;
  }
  const key =
    event.type === 'run_started'
      ? tagKey({ run_id: event.run_id, role: 'prompt', step: 0 })
      : event.type === 'step'
        ? tagKey({ run_id: event.run_id, role: 'code', step: event.step })
        : null;
  return spec => key !== null && tagKey(spec.metadata.codeinterp) === key;
}

export class NotebookWriter {
  constructor(
    private _panel: NotebookPanel,
    private _options: IWriterOptions
  ) {
    this._cells = new NotebookCells(_panel);
    this._claim = new WriterClaim(() =>
      awarenessOf(this._panel.content.model?.sharedModel)
    );
  }

  get panel(): NotebookPanel {
    return this._panel;
  }

  /**
   * Declare that this page follows a run (and may be the one that writes it). `joining`: the run
   * was started elsewhere and is going on; in a collaborative document, writes wait a moment
   * until the other followers are known.
   */
  follow(runId: string, options: { joining?: boolean } = {}): void {
    this._claim.follow(runId);
    if (options.joining && this._panel.context.model?.collaborative) {
      this._held.add(runId);
      window.setTimeout(() => this._release(runId), JOIN_GRACE_MS);
    }
  }

  unfollow(runId: string): void {
    this._claim.unfollow(runId);
  }

  /** Apply one event of a run to the notebook. Idempotent. */
  apply(event: RunEvent): void {
    if (!this._panel.content.model || this._panel.isDisposed) {
      return;
    }
    const state = this._state(event.run_id, event.seq);
    if (!state || !applyEvent(state, event)) {
      return;
    }
    if (this._held.has(event.run_id)) {
      return;
    }
    if (!this._claim.mayWrite(event.run_id)) {
      // Another collaborating tab writes this run; should it leave, the state is all here.
      this._behind.add(event.run_id);
    } else if (
      !this._behind.has(event.run_id) &&
      isLiveOutput(event) &&
      (this._options.outputBatchMs ?? 0) > 0
    ) {
      this._deferOutput(event);
    } else {
      this._flushOutputs(event.run_id);
      // The first write of a run, or taking it over: every cell, not only this event's.
      this._write(state, this._behind.delete(event.run_id) ? null : event);
    }
    this._forgetIfEnded(state);
  }

  /** Write a live output with the others that come within `outputBatchMs`. */
  private _deferOutput(event: RunEvent): void {
    this._deferred.set(event.run_id, event);
    if (this._flushTimer === null) {
      this._flushTimer = window.setTimeout(() => {
        this._flushTimer = null;
        for (const runId of [...this._deferred.keys()]) {
          this._flushOutputs(runId);
        }
      }, this._options.outputBatchMs);
    }
  }

  /** Write the live outputs of a run held back so far (its state has them all). */
  private _flushOutputs(runId: string): void {
    const event = this._deferred.get(runId);
    if (!event) {
      return;
    }
    this._deferred.delete(runId);
    const state = this._states.get(runId);
    if (state && !this._panel.isDisposed && this._claim.mayWrite(runId)) {
      try {
        this._write(state, event);
      } catch (error) {
        console.error('codeinterp: could not write the run', error);
      }
    }
  }

  /** How many cells of the run the notebook holds, and whether they are marked ended. */
  cellsOfRun(runId: string): { count: number; ended: boolean } {
    let count = 0;
    let ended = false;
    for (const tag of this._cells.tags()) {
      if (tag && tag.run_id === runId) {
        count += 1;
        ended = ended || !!tag.ended;
      }
    }
    return { count, ended };
  }

  /**
   * Trust the outputs of a run's code cells, as "Trust Notebook" would for them only: the user
   * chose to. Returns how many cells were trusted.
   */
  trustRun(runId: string): number {
    let count = 0;
    for (const cell of this._cells.all()) {
      const tag = cellTag(cell);
      const cellModel =
        tag && tag.run_id === runId && tag.role === 'code'
          ? this._cells.codeModel(cell)
          : null;
      if (cellModel && !cellModel.trusted) {
        cellModel.trusted = true;
        count += 1;
      }
    }
    return count;
  }

  /** Remove cells that share a key with an earlier one (a race between two collaborating tabs). */
  dedupe(): number {
    const doomed = duplicates(this._cells.tags());
    this._cells.remove(doomed);
    return doomed.length;
  }

  /** The run's state; a new one for its first event, none for a run already written to its end. */
  private _state(runId: string, seq: number): IRunState | null {
    let state = this._states.get(runId);
    if (!state) {
      if ((this._endedAt.get(runId) ?? 0) >= seq) {
        return null;
      }
      state = newRunState(runId);
      this._states.set(runId, state);
      this._behind.add(runId);
    }
    return state;
  }

  /** A run that ended and was written needs no state: later events of it are replays. */
  private _forgetIfEnded(state: IRunState): void {
    if (isFinal(state.status) && !this._held.has(state.runId)) {
      this._states.delete(state.runId);
      this._behind.delete(state.runId);
      this._endedAt.set(state.runId, state.lastSeq);
    }
  }

  /** Write the events held while joining, as one update of every cell, unless another tab writes. */
  private _release(runId: string): void {
    this._held.delete(runId);
    const state = this._states.get(runId);
    if (!state || this._panel.isDisposed) {
      return;
    }
    if (this._claim.mayWrite(runId)) {
      this._behind.delete(runId);
      try {
        this._write(state, null);
      } catch (error) {
        console.error('codeinterp: could not write the run', error);
      }
    }
    this._forgetIfEnded(state);
  }

  /**
   * Upsert the cells `event` touched (all of the run's for null): update the ones the notebook
   * has, insert the missing ones (at the end, only the answer: a prompt or code cell the user
   * deleted stays deleted), remove the cells of steps that were never run.
   */
  private _write(state: IRunState, event: RunEvent | null): void {
    const specs = runCells(state, this._options.roles());
    const wanted = touched(event);
    const insertAll = event === null || event.type !== 'run_ended';
    let shown: ISharedCell | null = null;
    for (const spec of specs) {
      if (!wanted(spec)) {
        continue;
      }
      const tag = spec.metadata.codeinterp;
      const index = findCell(this._cells.tags(), tagKey(tag));
      if (index >= 0) {
        const cell = this._cells.all()[index];
        this._cells.update(cell, spec);
        if (event === null || event.type === 'step') {
          shown = cell;
        }
      } else if (insertAll || tag.role === 'answer') {
        shown = this._insert(spec) ?? shown;
      }
    }
    if (shown && this._options.autoScroll?.()) {
      this._cells.scrollTo(shown);
    }
    if (
      event === null ||
      event.type === 'run_ended' ||
      (event.type === 'step' && event.stage === 'completed')
    ) {
      this._removeUnrun(state);
    }
    if (isFinal(state.status)) {
      for (const cell of this._cells.all()) {
        if (cellTag(cell)?.run_id === state.runId) {
          this._cells.markEnded(cell);
        }
      }
    }
  }

  private _insert(spec: ICellSpec): ISharedCell | null {
    const tag = spec.metadata.codeinterp;
    const inserted = this._cells.insert(spec, {
      runId: tag.run_id,
      role: tag.role,
      threadId: tag.thread_id,
      threadRuns: this._options.threadRunIds?.(),
      anchorId: this._options.anchorCellId?.()
    });
    // A collaborator may have inserted the same cell at the same moment.
    window.setTimeout(() => this.dedupe(), 300);
    return inserted;
  }

  /** Delete the code cells of steps that ended without running (their cell showed the streamed code). */
  private _removeUnrun(state: IRunState): void {
    const doomed: number[] = [];
    this._cells.tags().forEach((tag, i) => {
      const step =
        tag && tag.run_id === state.runId && tag.role === 'code'
          ? state.steps.get(tag.step)
          : undefined;
      if (
        step &&
        step.stage === 'completed' &&
        !RECORDED_STEP_STATUSES.has(step.status)
      ) {
        doomed.push(i);
      }
    });
    this._cells.remove(doomed.reverse());
  }

  private _cells: NotebookCells;
  private _claim: WriterClaim;
  /** The state of each run being written (or followed while another tab writes it). */
  private _states = new Map<string, IRunState>();
  /** The last live output event of each run not written yet (see `outputBatchMs`). */
  private _deferred = new Map<string, RunEvent>();
  private _flushTimer: number | null = null;
  /** Runs whose notebook cells may lag their state: the next write updates all of them. */
  private _behind = new Set<string>();
  /** Runs joined in a collaborative document, whose writes wait for JOIN_GRACE_MS. */
  private _held = new Set<string>();
  /** The last seq of each run written to its end. */
  private _endedAt = new Map<string, number>();
}
