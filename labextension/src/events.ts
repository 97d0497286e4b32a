/**
 * The event vocabulary of a run. The types are generated from `jupyter_codeinterp/events.py`
 * into `schema.ts` (`python -m jupyter_codeinterp.schema --write`), so they match the Python
 * ones field for field, types included; this module gives them the extension's names and adds
 * the few values the UI needs.
 */

import type * as schema from './schema';

/** Bump when an event's shape changes incompatibly (events.py `EVENTS_VERSION`). */
export const EVENTS_VERSION = 1;

export type Stage = schema.Stage;
export const STAGES: readonly Stage[] = [
  'started',
  'code_delta',
  'in_progress',
  'interpreting',
  'completed'
];

/** How one executed step ended. */
export type StepStatus = schema.StepStatus;

/** Where a run is; the last three are final. */
export type RunStatus = schema.RunStatus;
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>([
  'completed',
  'failed',
  'cancelled'
]);
/** A run in one of these has not ended. */
export const ACTIVE_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>([
  'queued',
  'running',
  'waiting_for_approval'
]);

/** What the user may decide for a step the run is paused before (approval mode `ask`). */
export type ApprovalAction = schema.ApprovalAction;
/** A run's approval mode: `ask` pauses before each execution. */
export type ApprovalMode = 'auto' | 'ask';

/** An nbformat v4 output dict (stream, display_data, execute_result or error). */
export type Output = schema.Output;
export type IUsage = schema.Usage;
export type IFileChange = schema.FileChange;
export type IFileAnnotation = schema.FileAnnotation;

export type IRunStartedEvent = schema.RunStartedEvent;
export type ITextDeltaEvent = schema.TextDeltaEvent;
/** One stage of one code step. Which optional keys are present depends on `stage`. */
export type IStepEvent = schema.StepEvent;
export type IUsageEvent = schema.UsageEvent;
export type IKernelRestartedEvent = schema.KernelRestartedEvent;
export type INoticeEvent = schema.NoticeEvent;
export type IApprovalRequestedEvent = schema.ApprovalRequestedEvent;
export type IApprovalDecidedEvent = schema.ApprovalDecidedEvent;
export type IRunEndedEvent = schema.RunEndedEvent;

export type RunEvent =
  | IRunStartedEvent
  | ITextDeltaEvent
  | IStepEvent
  | IUsageEvent
  | IKernelRestartedEvent
  | INoticeEvent
  | IApprovalRequestedEvent
  | IApprovalDecidedEvent
  | IRunEndedEvent;

export type EventType = RunEvent['type'];

export function zeroUsage(): IUsage {
  return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
}

export function isFinal(status: string): boolean {
  return FINAL_STATUSES.has(status as RunStatus);
}

/** Whether a run with this status is still going. */
export function isActiveStatus(status: string): boolean {
  return ACTIVE_STATUSES.has(status as RunStatus);
}
