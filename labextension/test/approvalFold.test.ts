import { describe, expect, it } from 'vitest';

import type { RunEvent } from '../src/events';
import type { IRunRecord } from '../src/request';
import {
  applyEvent,
  eventsFromRecord,
  isActive,
  newRunState
} from '../src/runState';

// The twin of tests/test_runstate_approval.py: the same events fold to the same state.
const at = (seq: number, event: Record<string, unknown>): RunEvent =>
  ({ seq, run_id: 'r1', time: 100 + seq, ...event }) as unknown as RunEvent;
const fold = (events: RunEvent[]) => {
  const state = newRunState();
  events.forEach(e => applyEvent(state, e));
  return state;
};
const CODE = "import shutil; shutil.rmtree('data')";
const PAUSED = [
  at(1, {
    type: 'run_started',
    thread_id: 't1',
    prompt: 'Clean up',
    model: 'm'
  }),
  at(2, { type: 'step', step: 1, stage: 'started' }),
  at(3, { type: 'step', step: 1, stage: 'code_delta', delta: 'import shutil' }),
  at(4, { type: 'approval_requested', step: 1, code: CODE })
];

describe('the fold of approval events', () => {
  it('shows a paused run as active with the exact code awaiting a decision', () => {
    const state = fold(PAUSED);
    expect(state.status).toBe('waiting_for_approval');
    expect(isActive(state)).toBe(true);
    expect(state.pendingApproval).toEqual({ step: 1, code: CODE });
    expect(state.steps.get(1)?.code).toBe(CODE);
    expect(state.steps.get(1)?.status).toBe('running');
  });

  it('resumes on a decision, and the edited code is what the step holds', () => {
    const state = fold([
      ...PAUSED,
      at(5, {
        type: 'approval_decided',
        step: 1,
        decision: 'edit',
        code: "print('kept')",
        by: 'ada'
      }),
      at(6, {
        type: 'step',
        step: 1,
        stage: 'in_progress',
        code: "print('kept')"
      })
    ]);
    expect(state.status).toBe('running');
    expect(state.pendingApproval).toBeNull();
    expect(state.steps.get(1)?.code).toBe("print('kept')");
  });

  it('has nothing pending once the run ended while paused', () => {
    const state = fold([
      ...PAUSED,
      at(5, {
        type: 'run_ended',
        status: 'cancelled',
        reason: 'x',
        answer: '',
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
        steps: 1
      })
    ]);
    expect(state.status).toBe('cancelled');
    expect(state.pendingApproval).toBeNull();
  });

  it('shows the pause of a live run record (GET) as its events would', () => {
    const record = {
      run_id: 'r1',
      thread_id: 't1',
      kernel_id: 'k',
      notebook_path: '',
      prompt: 'Clean up',
      model: 'm',
      status: 'waiting_for_approval',
      reason: '',
      answer: '',
      steps: [],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      created: 100,
      ended: null,
      last_seq: 4,
      pending_approval: { step: 1, code: CODE }
    } as IRunRecord;
    const state = fold(eventsFromRecord(record));
    expect(state.status).toBe('waiting_for_approval');
    expect(state.pendingApproval).toEqual({ step: 1, code: CODE });
  });
});
