/**
 * Folds a run's events into a plain state object that the views render.
 * Applying the same event twice (same seq) is a no-op.
 */

import {
  IUsage,
  Output,
  RunEvent,
  RunStatus,
  Stage,
  StepStatus,
  zeroUsage
} from './events';
import type { IRunRecord } from './request';

export interface IStepState {
  step: number;
  stage: Stage;
  code: string;
  /** Live outputs while running; replaced by the coalesced list at completion. */
  outputs: Output[];
  status: StepStatus | null;
  executionCount: number | null;
  elapsed: number | null;
  /** Client clock (ms) when the step started running, for the live timer. */
  runningSince: number | null;
  message: string;
}

/** The run's content in order: assistant text and code steps interleave. */
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
}

export function newRunState(runId: string): IRunState {
  return {
    runId,
    threadId: '',
    prompt: '',
    model: '',
    status: 'running',
    reason: '',
    answer: '',
    usage: zeroUsage(),
    items: [],
    steps: new Map(),
    lastSeq: 0,
    started: null,
    ended: null
  };
}

function ensureStep(state: IRunState, step: number): IStepState {
  let s = state.steps.get(step);
  if (!s) {
    s = {
      step,
      stage: 'started',
      code: '',
      outputs: [],
      status: null,
      executionCount: null,
      elapsed: null,
      runningSince: null,
      message: ''
    };
    state.steps.set(step, s);
    state.items.push({ kind: 'step', step });
  }
  return s;
}

/**
 * Apply one event. Returns false when the event was already applied (or is for another run).
 */
export function applyEvent(state: IRunState, event: RunEvent): boolean {
  if (event.run_id !== state.runId || event.seq <= state.lastSeq) {
    return false;
  }
  state.lastSeq = event.seq;
  switch (event.type) {
    case 'run_started':
      state.threadId = event.thread_id;
      state.prompt = event.prompt;
      state.model = event.model;
      state.status = 'running';
      state.started = event.time;
      break;
    case 'text_delta': {
      const last = state.items[state.items.length - 1];
      if (last && last.kind === 'text') {
        last.text += event.delta;
      } else {
        state.items.push({ kind: 'text', text: event.delta });
      }
      break;
    }
    case 'step': {
      const s = ensureStep(state, event.step);
      s.stage = event.stage;
      switch (event.stage) {
        case 'code_delta':
          s.code += event.delta ?? '';
          break;
        case 'in_progress':
          if (event.code !== undefined) {
            s.code = event.code;
          }
          if (s.runningSince === null) {
            // The server's clock when it is plausibly in step with ours, so that a step replayed
            // after a reload shows its true elapsed time; ours otherwise.
            const serverMs = event.time * 1000;
            s.runningSince =
              Math.abs(Date.now() - serverMs) < 10 * 60 * 1000
                ? Math.min(serverMs, Date.now())
                : Date.now();
          }
          if (event.output) {
            s.outputs.push(event.output);
          }
          if (event.execution_count !== undefined) {
            s.executionCount = event.execution_count;
          }
          break;
        case 'completed':
          if (event.code !== undefined) {
            s.code = event.code;
          }
          s.outputs = event.outputs ?? s.outputs;
          s.status = event.status ?? 'ok';
          s.executionCount = event.execution_count ?? null;
          s.elapsed = event.elapsed ?? null;
          s.message = String((event as any).message ?? '');
          break;
        default:
          break;
      }
      break;
    }
    case 'usage':
      state.usage = { ...event.usage };
      break;
    case 'kernel_restarted':
      state.items.push({
        kind: 'notice',
        level: 'warning',
        message: event.message
      });
      break;
    case 'notice':
      if (event.retract_text) {
        retractText(state, event.retract_text);
      }
      state.items.push({
        kind: 'notice',
        level: event.level,
        message: event.message
      });
      break;
    case 'run_ended':
      state.status = event.status;
      state.reason = event.reason;
      state.answer = event.answer;
      state.usage = { ...event.usage };
      state.ended = event.time;
      // The answer normally streamed as text; show it if it did not.
      if (event.answer && !hasTrailingText(state, event.answer)) {
        state.items.push({ kind: 'text', text: event.answer });
      }
      break;
    default:
      break;
  }
  return true;
}

/** Take back text a cut-off model stream had shown: the end of the last text item. */
function retractText(state: IRunState, text: string): void {
  const last = state.items[state.items.length - 1];
  if (last && last.kind === 'text' && last.text.endsWith(text)) {
    last.text = last.text.slice(0, last.text.length - text.length);
    if (!last.text) {
      state.items.pop();
    }
  }
}

function hasTrailingText(state: IRunState, answer: string): boolean {
  const last = state.items[state.items.length - 1];
  return (
    !!last &&
    last.kind === 'text' &&
    last.text.trim().length > 0 &&
    (last.text.includes(answer.trim()) || answer.includes(last.text.trim()))
  );
}

/** Whether the run is still going. */
export function isActive(state: IRunState): boolean {
  return state.status === 'running' || state.status === 'queued';
}

/**
 * Synthesize the events of a stored run, for runs that ended before this page saw them.
 * (Assistant prose between steps is not stored per run, only the answer.)
 */
export function eventsFromRecord(run: IRunRecord): RunEvent[] {
  const events: RunEvent[] = [];
  let seq = 0;
  const base = () => ({
    seq: ++seq,
    run_id: run.run_id,
    time: run.created
  });
  events.push({
    ...base(),
    type: 'run_started',
    thread_id: run.thread_id,
    prompt: run.prompt,
    model: run.model ?? ''
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
      ...(step.message ? { message: step.message } : {})
    });
  }
  const usage = { ...zeroUsage(), ...(run.usage ?? {}) };
  if (
    run.status === 'completed' ||
    run.status === 'failed' ||
    run.status === 'cancelled'
  ) {
    events.push({
      ...base(),
      type: 'run_ended',
      status: run.status,
      reason: run.reason,
      answer: run.answer,
      usage,
      steps: (run.steps ?? []).length,
      time: run.ended ?? run.created
    });
  } else {
    events.push({ ...base(), type: 'usage', usage });
  }
  return events;
}
