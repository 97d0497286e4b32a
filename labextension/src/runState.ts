/**
 * The one fold of a run's events into its state in the extension: the sidebar and `%%interpret`
 * views render it, and the notebook writer computes the run's cells from it (cells.ts). The twin
 * of `jupyter_codeinterp/runstate.py`, rule for rule. Pure: no clock, no DOM. Applying an event
 * already applied (same or lower seq) changes nothing.
 */

import {
  IFileAnnotation,
  IFileChange,
  isActiveStatus,
  isFinal,
  IUsage,
  RunEvent,
  RunStatus,
  Stage,
  StepStatus,
  zeroUsage
} from './events';
import { OutputList } from './outputs';
import type { IRunRecord } from './request';

export interface IStepState {
  step: number;
  stage: Stage;
  code: string;
  /** The outputs as a notebook shows them (settled live; the engine's list at completion). */
  outputs: OutputList;
  /** `running` until the step's `completed` event says how it ended. */
  status: StepStatus | 'running';
  executionCount: number | null;
  elapsed: number | null;
  message: string;
  /** The files the step created or changed; `filesTruncated`: that list may be partial. */
  files: IFileChange[];
  filesTruncated: boolean;
  /** Server time (s) of the step's first `in_progress` event: it began to execute. */
  runningSince: number | null;
}

/** Step statuses whose code ran (or began to), so its cell belongs in the notebook. */
export const RECORDED_STEP_STATUSES: ReadonlySet<string> = new Set([
  'ok',
  'error',
  'timeout',
  'kernel_restarted',
  'cancelled'
]);

/** The run's content in order: assistant text, code steps and notices interleave. */
export type RunItem =
  | { kind: 'text'; text: string }
  | { kind: 'step'; step: number }
  | { kind: 'notice'; level: 'info' | 'warning'; message: string };

export interface IRunState {
  runId: string;
  threadId: string;
  prompt: string;
  model: string;
  status: RunStatus;
  reason: string;
  answer: string;
  usage: IUsage;
  items: RunItem[];
  steps: Map<number, IStepState>;
  lastSeq: number;
  /** seconds since the epoch (server clock) */
  started: number | null;
  ended: number | null;
  /** While `waiting_for_approval`: the paused step and exactly the code that would run. */
  pendingApproval: { step: number; code: string } | null;
  /** Files attached to the prompt, and the answer's mentions of files the run wrote. */
  files: string[];
  annotations: IFileAnnotation[];
}

/** A run before its first event; `runId` empty: it becomes the first event's. */
export function newRunState(runId = ''): IRunState {
  return {
    runId,
    threadId: '',
    prompt: '',
    model: '',
    status: 'queued',
    reason: '',
    answer: '',
    usage: zeroUsage(),
    items: [],
    steps: new Map(),
    lastSeq: 0,
    started: null,
    ended: null,
    pendingApproval: null,
    files: [],
    annotations: []
  };
}

/** Whether the run has not ended yet. */
export function isActive(state: IRunState): boolean {
  return isActiveStatus(state.status);
}

/** Fold one event in; false (and nothing changed) for an event already applied or of another run. */
export function applyEvent(state: IRunState, event: RunEvent): boolean {
  if (
    event.seq <= state.lastSeq ||
    (state.runId && event.run_id !== state.runId)
  ) {
    return false;
  }
  state.lastSeq = event.seq;
  state.runId = event.run_id;
  switch (event.type) {
    case 'run_started':
      state.threadId = event.thread_id ?? '';
      state.prompt = event.prompt ?? '';
      state.model = event.model ?? '';
      state.files = event.files ?? [];
      state.status = 'running';
      state.started = event.time;
      break;
    case 'text_delta':
      addText(state, event.delta ?? '');
      break;
    case 'step':
      applyStep(state, event);
      break;
    case 'usage':
      state.usage = { ...zeroUsage(), ...event.usage };
      break;
    case 'kernel_restarted':
      state.items.push({
        kind: 'notice',
        level: 'warning',
        message: event.message ?? ''
      });
      break;
    case 'notice':
      if (event.retract_text) {
        retractText(state, event.retract_text);
      }
      state.items.push({
        kind: 'notice',
        level: event.level ?? 'info',
        message: event.message ?? ''
      });
      break;
    case 'approval_requested': {
      state.status = 'waiting_for_approval';
      state.pendingApproval = { step: event.step, code: event.code ?? '' };
      const step = state.steps.get(event.step);
      if (step) {
        step.code = event.code ?? '';
      }
      break;
    }
    case 'approval_decided':
      state.pendingApproval = null;
      if (state.status === 'waiting_for_approval') {
        state.status = 'running';
      }
      break;
    case 'run_ended':
      state.pendingApproval = null;
      state.status = event.status;
      state.reason = event.reason ?? '';
      state.answer = event.answer ?? '';
      state.usage = { ...zeroUsage(), ...(event.usage ?? state.usage) };
      state.ended = event.time;
      state.annotations = event.annotations ?? [];
      // The answer normally streamed as text; show it if it did not.
      if (state.answer && !endsWithText(state, state.answer)) {
        state.items.push({ kind: 'text', text: state.answer });
      }
      break;
    default:
      break;
  }
  return true;
}

function addText(state: IRunState, delta: string): void {
  const last = state.items[state.items.length - 1];
  if (last && last.kind === 'text') {
    last.text += delta;
  } else {
    state.items.push({ kind: 'text', text: delta });
  }
}

/** A cut-off model reply is asked again: the text it had streamed goes from the end of what is shown. */
function retractText(state: IRunState, text: string): void {
  const last = state.items[state.items.length - 1];
  if (last && last.kind === 'text' && last.text.endsWith(text)) {
    last.text = last.text.slice(0, last.text.length - text.length);
    if (!last.text) {
      state.items.pop();
    }
  }
}

function endsWithText(state: IRunState, answer: string): boolean {
  const last = state.items[state.items.length - 1];
  if (!last || last.kind !== 'text' || !last.text.trim()) {
    return false;
  }
  return last.text.includes(answer.trim()) || answer.includes(last.text.trim());
}

function applyStep(
  state: IRunState,
  event: Extract<RunEvent, { type: 'step' }>
): void {
  let step = state.steps.get(event.step);
  if (!step) {
    step = {
      step: event.step,
      stage: 'started',
      code: '',
      outputs: new OutputList(),
      status: 'running',
      executionCount: null,
      elapsed: null,
      message: '',
      files: [],
      filesTruncated: false,
      runningSince: null
    };
    state.steps.set(event.step, step);
    state.items.push({ kind: 'step', step: event.step });
  }
  step.stage = event.stage;
  switch (event.stage) {
    case 'code_delta':
      step.code += event.delta ?? '';
      break;
    case 'in_progress':
      if (event.code !== undefined) {
        step.code = event.code;
      }
      if (step.runningSince === null) {
        step.runningSince = event.time;
      }
      if (event.output) {
        step.outputs.add(event.output);
      }
      break;
    case 'completed':
      if (event.code !== undefined) {
        step.code = event.code;
      }
      if (event.outputs !== undefined) {
        step.outputs = OutputList.of(event.outputs);
      }
      step.status = event.status ?? 'ok';
      step.executionCount = event.execution_count ?? null;
      step.elapsed = event.elapsed ?? null;
      step.message = event.message ?? '';
      step.files = event.files ?? [];
      step.filesTruncated = event.files_truncated ?? false;
      break;
    default:
      break;
  }
}

/**
 * The events of a stored run, for a run that ended before this page saw it: folded like live ones.
 * (Assistant prose between steps is not stored per run, only the answer.)
 */
export function eventsFromRecord(run: IRunRecord): RunEvent[] {
  const events: RunEvent[] = [];
  let seq = 0;
  const base = () => ({ seq: ++seq, run_id: run.run_id, time: run.created });
  events.push({
    ...base(),
    type: 'run_started',
    thread_id: run.thread_id,
    prompt: run.prompt,
    model: run.model ?? '',
    ...(run.files?.length ? { files: run.files } : {})
  });
  for (const step of run.steps ?? []) {
    events.push({
      ...base(),
      type: 'step',
      step: step.step,
      stage: 'completed',
      code: step.code,
      outputs: step.outputs,
      status: step.status as StepStatus,
      execution_count: step.execution_count,
      elapsed: step.elapsed ?? 0,
      // A timed-out or restarted step keeps its explanation after a reload.
      ...(step.message ? { message: step.message } : {}),
      ...(step.files?.length ? { files: step.files } : {}),
      ...(step.files_truncated ? { files_truncated: true } : {})
    });
  }
  const usage = { ...zeroUsage(), ...(run.usage ?? {}) };
  if (run.pending_approval && !isFinal(run.status)) {
    const { step, code } = run.pending_approval;
    events.push({ ...base(), type: 'step', step, stage: 'started' });
    events.push({ ...base(), type: 'approval_requested', step, code });
  }
  if (isFinal(run.status)) {
    events.push({
      ...base(),
      type: 'run_ended',
      status: run.status as 'completed' | 'failed' | 'cancelled',
      reason: run.reason,
      answer: run.answer,
      usage,
      steps: (run.steps ?? []).length,
      ...(run.annotations?.length ? { annotations: run.annotations } : {}),
      time: run.ended ?? run.created
    });
  } else {
    events.push({ ...base(), type: 'usage', usage });
  }
  return events;
}
