/**
 * Follows one run live for a notebook session: its events (over `RunClient`) go to the run's view
 * and to the notebook writer, in order, once each. When the stream ends without `run_ended` (the
 * run is unknown, or the server lost it), the view is settled from the run's record.
 */

import { isFinal, RunEvent } from './events';
import type { NotebookWriter } from './notebookWriter';
import { getRun, IRunRecord } from './request';
import { RunClient } from './runClient';
import { isActive } from './runState';
import type { RunView } from './runView';

/** How long a tab keeps its claim on writing a run after the run ended (collaboration). */
const HANDOFF_GRACE_MS = 10_000;

export interface IFollowerOptions {
  /** The run was not started by this tab (it is replayed from its first event). */
  joining: boolean;
  /** After each event is shown and written. */
  event: (event: RunEvent) => void;
  /** Once the stream is over (the view may still be settling). */
  finished: () => void;
  /** The view changed outside an event (settled from the record). */
  changed: () => void;
}

export class RunFollower {
  constructor(
    readonly view: RunView,
    private _writer: NotebookWriter,
    private _options: IFollowerOptions
  ) {
    const runId = view.state.runId;
    this._client = new RunClient(runId, 0);
    _writer.follow(runId, { joining: _options.joining });
    this._client.event.connect((_, event) => this._onEvent(event));
    this._client.finished.connect(() => this._onFinished());
    this._client.start();
  }

  dispose(): void {
    this._disposed = true;
    this._client.dispose();
  }

  private _onEvent(event: RunEvent): void {
    if (this._disposed) {
      return;
    }
    this.view.apply(event);
    try {
      this._writer.apply(event);
    } catch (error) {
      console.error(
        'codeinterp: could not write the event to the notebook',
        error
      );
    }
    this._options.event(event);
  }

  private _onFinished(): void {
    const runId = this.view.state.runId;
    this._options.finished();
    if (isActive(this.view.state)) {
      this._writer.unfollow(runId);
    } else {
      // Stay the run's writer a little longer: a collaborating tab that is a few events behind
      // would otherwise take over and rewrite outputs this tab wrote but it has not yet received.
      window.setTimeout(() => this._writer.unfollow(runId), HANDOFF_GRACE_MS);
    }
    const lastSeq = this._client.lastSeq;
    this._client.dispose();
    if (this._disposed) {
      return;
    }
    if (isActive(this.view.state)) {
      void this._settle(lastSeq);
    } else {
      this._options.changed();
    }
  }

  /** The stream ended without run_ended: end the view as the record says, or as lost. */
  private async _settle(lastSeq: number): Promise<void> {
    const state = this.view.state;
    let record: IRunRecord | null = null;
    try {
      record = await getRun(state.runId);
    } catch {
      record = null;
    }
    const final = record && isFinal(record.status) ? record : null;
    this.view.apply({
      seq: lastSeq + 1,
      run_id: state.runId,
      time: Date.now() / 1000,
      type: 'run_ended',
      status: final
        ? (final.status as 'completed' | 'failed' | 'cancelled')
        : 'failed',
      reason: final
        ? final.reason
        : 'Lost the connection to this run; reopen the notebook to see how it ended.',
      answer: final ? final.answer : '',
      usage: state.usage,
      steps: state.steps.size
    });
    this._options.changed();
  }

  private _client: RunClient;
  private _disposed = false;
}
