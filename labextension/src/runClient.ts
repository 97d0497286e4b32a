/**
 * Follows one run's event stream over the websocket: replays stored events after the last seq seen,
 * then live ones; reconnects with the last seq after a dropped connection, never delivering an
 * event twice.
 */

import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { isActiveStatus, RunEvent } from './events';
import { eventsSocketUrl, getRun } from './request';

export class RunClient {
  constructor(
    readonly runId: string,
    after = 0,
    private _settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {
    this._lastSeq = after;
  }

  /** Each new event, in seq order, exactly once. */
  get event(): ISignal<this, RunEvent> {
    return this._event;
  }

  /** Emitted once when the run has ended (after its run_ended event) or the client was disposed. */
  get finished(): ISignal<this, void> {
    return this._finished;
  }

  get lastSeq(): number {
    return this._lastSeq;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  start(): void {
    if (this._disposed || this._socket) {
      return;
    }
    this._connect();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._retryTimer !== null) {
      window.clearTimeout(this._retryTimer);
    }
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.onerror = null;
      socket.close();
    }
    this._finish();
    Signal.clearData(this);
  }

  private _connect(): void {
    const url = eventsSocketUrl(this.runId, this._lastSeq, this._settings);
    const socket = new this._settings.WebSocket(url);
    this._socket = socket;
    socket.onmessage = (msg: MessageEvent) => {
      let event: RunEvent;
      try {
        event = JSON.parse(String(msg.data));
      } catch {
        return;
      }
      if (typeof event.seq !== 'number' || event.seq <= this._lastSeq) {
        return;
      }
      this._lastSeq = event.seq;
      this._failures = 0;
      this._event.emit(event);
      if (event.type === 'run_ended') {
        this._ended = true;
      }
    };
    socket.onclose = () => {
      this._socket = null;
      if (this._disposed) {
        return;
      }
      if (this._ended) {
        this._finish();
        return;
      }
      void this._maybeReconnect();
    };
  }

  private async _maybeReconnect(): Promise<void> {
    this._failures += 1;
    // The socket closed before run_ended: the server restarted, the network dropped, or the run
    // is unknown. Ask the REST API whether there is anything left to follow.
    try {
      const run = await getRun(this.runId);
      if (!isActiveStatus(run.status) && run.last_seq <= this._lastSeq) {
        this._finish();
        return;
      }
    } catch (error) {
      if ((error as any)?.status === 404 || this._failures > 20) {
        this._finish();
        return;
      }
    }
    if (this._disposed) {
      return;
    }
    const delay = Math.min(5000, 200 * 2 ** Math.min(this._failures, 5));
    this._retryTimer = window.setTimeout(() => {
      this._retryTimer = null;
      if (!this._disposed) {
        this._connect();
      }
    }, delay);
  }

  private _finish(): void {
    if (this._finishedEmitted) {
      return;
    }
    this._finishedEmitted = true;
    this._finished.emit();
  }

  private _socket: WebSocket | null = null;
  private _lastSeq: number;
  private _ended = false;
  private _disposed = false;
  private _failures = 0;
  private _finishedEmitted = false;
  private _retryTimer: number | null = null;
  private _event = new Signal<this, RunEvent>(this);
  private _finished = new Signal<this, void>(this);
}
