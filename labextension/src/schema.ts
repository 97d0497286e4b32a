/**
 * Generated from jupyter_codeinterp/events.py and records.py by
 * `python -m jupyter_codeinterp.schema --write`: do not edit by hand.
 */

/* eslint-disable */
import type { IOutput } from '@jupyterlab/nbformat';

/** An nbformat v4 output dict. */
export type Output = IOutput;

export type Stage = 'started' | 'code_delta' | 'in_progress' | 'interpreting' | 'completed';

export type StepStatus = 'ok' | 'error' | 'timeout' | 'kernel_restarted' | 'cancelled' | 'skipped';

export type RunStatus = 'queued' | 'running' | 'waiting_for_approval' | 'completed' | 'failed' | 'cancelled';

export type ApprovalAction = 'run' | 'edit' | 'skip' | 'stop';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  estimated?: boolean;
  cost_usd?: number;
}

/** A file a step created or changed in the working folder (path relative to it). */
export interface FileChange {
  path: string;
  size: number;
  change: 'created' | 'modified';
}

/** A file the answer names, ``answer[start:end]``: the local form of the hosted tool's file citation. */
export interface FileAnnotation {
  path: string;
  start: number;
  end: number;
}

export interface RunStartedEvent {
  seq: number;
  run_id: string;
  time: number;
  type: 'run_started';
  thread_id: string;
  prompt: string;
  model: string;
  files?: string[];
}

export interface TextDeltaEvent {
  seq: number;
  run_id: string;
  time: number;
  type: 'text_delta';
  delta: string;
}

/** One stage of one code step. Which optional keys are present depends on ``stage``. */
export interface StepEvent {
  seq: number;
  run_id: string;
  time: number;
  type: 'step';
  step: number;
  stage: Stage;
  delta?: string;
  code?: string;
  output?: Output;
  outputs?: Output[];
  status?: StepStatus;
  execution_count?: number | null;
  elapsed?: number;
  message?: string;
  files?: FileChange[];
  files_truncated?: boolean;
}

/** Token usage so far in this run (cumulative), when the endpoint reports it. */
export interface UsageEvent {
  seq: number;
  run_id: string;
  time: number;
  type: 'usage';
  usage: Usage;
}

export interface KernelRestartedEvent {
  seq: number;
  run_id: string;
  time: number;
  type: 'kernel_restarted';
  step: number;
  message: string;
}

/** Something the user should know that is not an error of the run (e.g. a fallback was taken). */
export interface NoticeEvent {
  seq: number;
  run_id: string;
  time: number;
  type: 'notice';
  level: 'info' | 'warning';
  message: string;
  retract_text?: string;
}

/** Approval mode ``ask``: the run pauses before step ``step`` until the user decides; ``code`` is exactly what would run. The run's status is ``waiting_for_approval`` until ``approval_decided`` (or ``run_ended``). */
export interface ApprovalRequestedEvent {
  seq: number;
  run_id: string;
  time: number;
  type: 'approval_requested';
  step: number;
  code: string;
}

/** The user's decision for the paused step: ``run`` it, ``edit`` (``code`` is what runs instead), ``skip`` it (``reason``, told to the model) or ``stop`` the run. ``by``: who decided, when known. */
export interface ApprovalDecidedEvent {
  seq: number;
  run_id: string;
  time: number;
  type: 'approval_decided';
  step: number;
  decision: ApprovalAction;
  code?: string;
  reason?: string;
  by?: string;
}

export interface RunEndedEvent {
  seq: number;
  run_id: string;
  time: number;
  type: 'run_ended';
  status: 'completed' | 'failed' | 'cancelled';
  reason: string;
  answer: string;
  usage: Usage;
  steps: number;
  annotations?: FileAnnotation[];
}

/** The step a run in ``waiting_for_approval`` is paused before, with exactly the code that would run. */
export interface PendingApproval {
  step: number;
  code: string;
}

/** One step of a run, as ``GET /codeinterp/runs/{id}`` gives it. */
export interface StepRecord {
  step: number;
  code: string;
  outputs: Output[];
  status: string;
  execution_count: number | null;
  elapsed: number | null;
  message: string;
  files: FileChange[];
  files_truncated: boolean;
}

/** A run, as ``GET /codeinterp/runs/{id}`` gives it (listings leave ``steps`` out). */
export interface RunRecord {
  run_id: string;
  thread_id: string;
  kernel_id: string;
  notebook_path: string;
  prompt: string;
  model: string;
  status: RunStatus;
  reason: string;
  answer: string;
  steps?: StepRecord[];
  usage: Usage;
  created: number;
  ended: number | null;
  last_seq: number;
  approval?: 'auto' | 'ask';
  pending_approval?: PendingApproval | null;
  files: string[];
  annotations: FileAnnotation[];
}

/** What a thread's runs spent together (``budgets.thread_totals``): what per-thread budgets are checked against. */
export interface ThreadUsage {
  tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  priced: boolean;
  estimated: boolean;
  steps: number;
  seconds: number;
  runs: number;
}

/** A thread, as ``GET /codeinterp/threads`` lists it (``messages`` only from ``GET /codeinterp/threads/{id}``). */
export interface ThreadRecord {
  thread_id: string;
  notebook_path: string;
  title: string;
  created: number;
  updated: number;
  runs?: RunRecord[];
  messages?: { [key: string]: any }[];
  usage?: ThreadUsage;
}

/** ``GET /codeinterp/config``: what the sidebar needs to know, never the key. */
export interface ServerConfig {
  model: string;
  base_url_host: string;
  has_api_key: boolean;
  max_steps: number;
  exec_timeout: number;
  max_output_chars: number;
  tool_mode: string;
  vision: boolean;
  max_prompt_chars: number;
  list_models: boolean;
  approval: 'auto' | 'ask';
  budget: { [key: string]: any };
  price: { [key: string]: any } | null;
  max_file_bytes: number;
  problem: string | null;
}

/** ``/codeinterp/connection``: whose settings runs use, never the key (only whether one is set). */
export interface ConnectionState {
  source: 'server' | 'runtime';
  locked: boolean;
  remembered: boolean;
  model: string;
  base_url_host: string;
  has_api_key: boolean;
}

/** ``POST /codeinterp/connection/test``: the endpoint's models, or what went wrong (scrubbed of the key). */
export interface ConnectionTest {
  ok: boolean;
  models: string[];
  model: string;
  model_listed: boolean | null;
  base_url_host: string;
  problem: string | null;
}
