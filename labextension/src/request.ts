/**
 * REST helpers for the server extension's `codeinterp/` routes (see docs/api.md).
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type * as schema from './schema';

/** An error answered by the server, with its HTTP status and JSON message. */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string = ''
  ) {
    super(message);
  }
}

/**
 * Call a `codeinterp/` route and return its JSON body.
 *
 * @param endPoint path under `codeinterp/`, e.g. `config` or `runs/r-1/cancel`
 * @param init fetch options (method, body, …)
 * @param settings server settings; the default ones of the page when omitted
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'codeinterp', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the error message
    }
  }
  if (!response.ok) {
    const message =
      (data && typeof data === 'object' && data.message) ||
      (typeof data === 'string' && data) ||
      response.statusText;
    const reason = (data && typeof data === 'object' && data.reason) || '';
    throw new APIError(String(message), response.status, String(reason));
  }
  return data as T;
}

/**
 * The websocket URL of a run's event stream, replaying every event after `after`.
 * The token is added the way the page's own websockets get it.
 */
export function eventsSocketUrl(
  runId: string,
  after: number,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  let url =
    URLExt.join(
      settings.wsUrl,
      'codeinterp',
      'runs',
      encodeURIComponent(runId),
      'events'
    ) + `?after=${after}`;
  if (settings.appendToken && settings.token) {
    url += `&token=${encodeURIComponent(settings.token)}`;
  }
  return url;
}

/** `GET /codeinterp/config` (generated from records.py: see schema.ts). */
export type IServerConfig = schema.ServerConfig;

/** One step of a run (`GET /codeinterp/runs/{id}`). */
export type IRunStep = schema.StepRecord;

/** A run (`GET /codeinterp/runs/{id}`); listings leave `steps` out. */
export type IRunRecord = schema.RunRecord;

/** A thread of a notebook (`GET /codeinterp/threads?notebook_path=`). */
export type IThreadRecord = schema.ThreadRecord;

/** The threads of a notebook, newest first. Accepts a bare list or `{threads: [...]}`. */
export async function listThreads(
  notebookPath: string
): Promise<IThreadRecord[]> {
  const data = await requestAPI<any>(
    `threads?notebook_path=${encodeURIComponent(notebookPath)}`
  );
  const threads: IThreadRecord[] = Array.isArray(data)
    ? data
    : Array.isArray(data?.threads)
      ? data.threads
      : [];
  return [...threads].sort((a, b) => (b.updated ?? 0) - (a.updated ?? 0));
}

/** `GET /codeinterp/threads/{id}`: the thread with its runs. */
export async function getThread(threadId: string): Promise<IThreadRecord> {
  return requestAPI<IThreadRecord>(`threads/${encodeURIComponent(threadId)}`);
}

/**
 * `GET /codeinterp/runs?notebook_path=P&since=T`: the notebook's runs in progress and those created since `T`
 * (the `now` of the previous answer), without steps; `now` is the server's time for the next call.
 */
export async function recentRuns(
  notebookPath: string,
  since: number | null
): Promise<{ runs: IRunRecord[]; now: number | null }> {
  let query = `runs?notebook_path=${encodeURIComponent(notebookPath)}`;
  if (since !== null) {
    query += `&since=${since}`;
  }
  const data = await requestAPI<{ runs?: IRunRecord[]; now?: number }>(query);
  return {
    runs: Array.isArray(data?.runs) ? data.runs : [],
    now: typeof data?.now === 'number' ? data.now : null
  };
}

export async function getRun(runId: string): Promise<IRunRecord> {
  return requestAPI<IRunRecord>(`runs/${encodeURIComponent(runId)}`);
}

export async function startRun(body: {
  kernel_id: string;
  prompt: string;
  notebook_path?: string;
  thread_id?: string;
  model?: string;
  approval?: 'auto' | 'ask';
  files?: string[];
}): Promise<{ run_id: string; thread_id: string }> {
  return requestAPI('runs', { method: 'POST', body: JSON.stringify(body) });
}

export async function cancelRun(runId: string): Promise<void> {
  await requestAPI(`runs/${encodeURIComponent(runId)}/cancel`, {
    method: 'POST'
  });
}

/** A decision for the step a run is paused before; a 409 when that step is no longer pending. */
export interface IApprovalDecision {
  step: number;
  action: 'run' | 'edit' | 'skip' | 'stop';
  code?: string;
  reason?: string;
}

export async function decideApproval(
  runId: string,
  decision: IApprovalDecision
): Promise<void> {
  await requestAPI(`runs/${encodeURIComponent(runId)}/approval`, {
    method: 'POST',
    body: JSON.stringify(decision)
  });
}

export async function getConfig(): Promise<IServerConfig> {
  return requestAPI<IServerConfig>('config');
}

/** `GET /codeinterp/models`: model ids, or [] when the server does not list them. */
export async function listModels(): Promise<string[]> {
  const data = await requestAPI<any>('models');
  const ids: any[] = Array.isArray(data)
    ? data
    : Array.isArray(data?.models)
      ? data.models
      : Array.isArray(data?.data)
        ? data.data
        : [];
  return ids
    .map(m => (typeof m === 'string' ? m : m?.id))
    .filter((m): m is string => typeof m === 'string');
}
