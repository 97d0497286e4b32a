/**
 * The event vocabulary of a run: a field-for-field TypeScript mirror of
 * `jupyter_codeinterp/events.py`. Keep the two (and docs/events.md) in step.
 */

import type * as nbformat from '@jupyterlab/nbformat';

/** Bump when an event's shape changes incompatibly. */
export const EVENTS_VERSION = 1;

export type Stage =
  'started' | 'code_delta' | 'in_progress' | 'interpreting' | 'completed';
export const STAGES: readonly Stage[] = [
  'started',
  'code_delta',
  'in_progress',
  'interpreting',
  'completed'
];

/** How one executed step ended. */
export type StepStatus =
  'ok' | 'error' | 'timeout' | 'kernel_restarted' | 'cancelled' | 'skipped';

/** Where a run is; the last three are final. */
export type RunStatus =
  'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>([
  'completed',
  'failed',
  'cancelled'
]);

/** An nbformat v4 output dict (stream, display_data, execute_result or error). */
export type Output = nbformat.IOutput;

export interface IUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

interface IBase {
  seq: number;
  run_id: string;
  time: number;
}

export interface IRunStartedEvent extends IBase {
  type: 'run_started';
  thread_id: string;
  prompt: string;
  model: string;
}

export interface ITextDeltaEvent extends IBase {
  type: 'text_delta';
  delta: string;
}

/** One stage of one code step. Which optional keys are present depends on `stage`. */
export interface IStepEvent extends IBase {
  type: 'step';
  step: number;
  stage: Stage;
  /** code_delta: the next piece of streamed code. */
  delta?: string;
  /** in_progress (first event of the stage) and completed: the full code. */
  code?: string;
  /** in_progress: one live output, as it arrives. */
  output?: Output;
  /** completed: every output of the step, coalesced. */
  outputs?: Output[];
  /** completed. */
  status?: StepStatus;
  execution_count?: number | null;
  elapsed?: number;
  /** completed, for timeout and kernel_restarted: what happened, in words. */
  message?: string;
}

/** Token usage so far in this run (cumulative), when the endpoint reports it. */
export interface IUsageEvent extends IBase {
  type: 'usage';
  usage: IUsage;
}

export interface IKernelRestartedEvent extends IBase {
  type: 'kernel_restarted';
  step: number;
  message: string;
}

/** Something the user should know that is not an error of the run. */
export interface INoticeEvent extends IBase {
  type: 'notice';
  level: 'info' | 'warning';
  message: string;
  /**
   * When the model stream was cut off and is asked again: the assistant text it had
   * streamed (the end of the text shown), to take back before the retried reply.
   */
  retract_text?: string;
}

export interface IRunEndedEvent extends IBase {
  type: 'run_ended';
  status: 'completed' | 'failed' | 'cancelled';
  reason: string;
  answer: string;
  usage: IUsage;
  steps: number;
}

export type RunEvent =
  | IRunStartedEvent
  | ITextDeltaEvent
  | IStepEvent
  | IUsageEvent
  | IKernelRestartedEvent
  | INoticeEvent
  | IRunEndedEvent;

export type EventType = RunEvent['type'];

export function zeroUsage(): IUsage {
  return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
}

export function isFinal(status: string): boolean {
  return FINAL_STATUSES.has(status as RunStatus);
}
