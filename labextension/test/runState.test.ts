import { describe, expect, it } from 'vitest';

import type { Output, RunEvent } from '../src/events';
import type { IRunRecord } from '../src/request';
import {
  applyEvent,
  eventsFromRecord,
  isActive,
  newRunState
} from '../src/runState';

const at = (seq: number, event: Record<string, unknown>): RunEvent =>
  ({ seq, run_id: 'r1', time: 100 + seq, ...event }) as unknown as RunEvent;
const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
const fold = (events: RunEvent[]) => {
  const state = newRunState();
  events.forEach(e => applyEvent(state, e));
  return state;
};
const stdout = (text: string) => ({
  output_type: 'stream',
  name: 'stdout',
  text
});

describe('the run fold', () => {
  it('applies each event once, in order', () => {
    const state = newRunState('r1');
    const started = at(1, {
      type: 'run_started',
      thread_id: 't',
      prompt: 'p',
      model: 'm'
    });
    expect(applyEvent(state, started)).toBe(true);
    expect(applyEvent(state, started)).toBe(false);
    applyEvent(state, at(2, { type: 'text_delta', delta: 'Hel' }));
    applyEvent(state, at(3, { type: 'text_delta', delta: 'lo' }));
    expect(state.items).toEqual([{ kind: 'text', text: 'Hello' }]);
  });

  it('is queued until the run starts, then running, then as it ended', () => {
    const state = newRunState();
    expect([state.status, isActive(state)]).toEqual(['queued', true]);
    applyEvent(
      state,
      at(1, { type: 'run_started', thread_id: 't', prompt: 'p', model: 'm' })
    );
    expect([state.runId, state.threadId, state.status]).toEqual([
      'r1',
      't',
      'running'
    ]);
    applyEvent(
      state,
      at(2, {
        type: 'run_ended',
        status: 'failed',
        reason: 'why',
        answer: '',
        usage,
        steps: 0
      })
    );
    expect([state.status, state.reason, isActive(state)]).toEqual([
      'failed',
      'why',
      false
    ]);
    expect(state.usage).toEqual(usage);
    expect(state.ended).toBe(102);
  });

  it('ignores the events of another run', () => {
    const state = newRunState('r1');
    const other = {
      ...at(1, { type: 'text_delta', delta: 'x' }),
      run_id: 'r2'
    } as RunEvent;
    expect(applyEvent(state, other)).toBe(false);
    expect(state.items).toEqual([]);
  });

  it('takes back the text of a cut-off reply that is asked again', () => {
    const state = newRunState('r1');
    applyEvent(state, at(1, { type: 'text_delta', delta: 'The answer is 4' }));
    applyEvent(
      state,
      at(2, {
        type: 'notice',
        level: 'warning',
        message: 'cut',
        retract_text: 'The answer is 4'
      })
    );
    applyEvent(
      state,
      at(3, { type: 'text_delta', delta: 'The answer is 42.' })
    );
    expect(state.items).toEqual([
      { kind: 'notice', level: 'warning', message: 'cut' },
      { kind: 'text', text: 'The answer is 42.' }
    ]);
  });

  it('takes back nothing that was not the end of the shown text', () => {
    const state = fold([
      at(1, { type: 'text_delta', delta: 'Kept.' }),
      at(2, {
        type: 'notice',
        level: 'warning',
        message: 'cut',
        retract_text: 'Other'
      })
    ]);
    expect(state.items[0]).toEqual({ kind: 'text', text: 'Kept.' });
  });

  it('grows a step from its code to its settled outputs', () => {
    const events = [
      at(1, { type: 'step', step: 1, stage: 'started' }),
      at(2, { type: 'step', step: 1, stage: 'code_delta', delta: 'print(' }),
      at(3, { type: 'step', step: 1, stage: 'code_delta', delta: '1)' }),
      at(4, { type: 'step', step: 1, stage: 'in_progress', code: 'print(1)' }),
      at(5, {
        type: 'step',
        step: 1,
        stage: 'in_progress',
        output: stdout('1\n')
      }),
      at(6, {
        type: 'step',
        step: 1,
        stage: 'in_progress',
        output: stdout('2\n')
      })
    ];
    const running = fold(events);
    const step = running.steps.get(1)!;
    expect([step.code, step.stage, step.status]).toEqual([
      'print(1)',
      'in_progress',
      'running'
    ]);
    expect(step.runningSince).toBe(104);
    expect(step.outputs.items).toEqual([stdout('1\n2\n')]);
    expect(running.items).toEqual([{ kind: 'step', step: 1 }]);

    const done = fold([
      ...events,
      at(7, {
        type: 'step',
        step: 1,
        stage: 'completed',
        code: 'print(1)',
        outputs: [stdout('1\n2\n')],
        status: 'timeout',
        execution_count: 4,
        elapsed: 1.5,
        message: 'Timed out after 1 s.'
      })
    ]).steps.get(1)!;
    expect([
      done.status,
      done.executionCount,
      done.elapsed,
      done.message
    ]).toEqual(['timeout', 4, 1.5, 'Timed out after 1 s.']);
    expect(done.runningSince).toBe(104);
  });

  it('applies clear_output(wait=True) only at the next output', () => {
    const events = [
      at(1, {
        type: 'step',
        step: 1,
        stage: 'in_progress',
        output: stdout('old')
      }),
      at(2, {
        type: 'step',
        step: 1,
        stage: 'in_progress',
        output: { output_type: 'clear_output', wait: true }
      })
    ];
    expect(fold(events).steps.get(1)!.outputs.items).toEqual([stdout('old')]);
    const next = at(3, {
      type: 'step',
      step: 1,
      stage: 'in_progress',
      output: stdout('new')
    });
    expect(fold([...events, next]).steps.get(1)!.outputs.items).toEqual([
      stdout('new')
    ]);
  });

  it('gives the same state for a log applied twice or replayed after a reload', () => {
    const events = [
      at(1, { type: 'run_started', thread_id: 't', prompt: 'p', model: 'm' }),
      at(2, { type: 'step', step: 1, stage: 'in_progress', code: 'x' }),
      at(3, {
        type: 'step',
        step: 1,
        stage: 'in_progress',
        output: stdout('a')
      }),
      at(4, { type: 'text_delta', delta: 'ok' })
    ];
    const once = fold(events);
    const twice = fold([...events, ...events]);
    const interleaved = fold([
      events[0],
      events[1],
      events[0],
      events[2],
      events[1],
      events[3]
    ]);
    expect(twice).toEqual(once);
    expect(interleaved).toEqual(once);
  });

  it('shows the answer of a run whose answer did not stream', () => {
    const state = fold([
      at(1, {
        type: 'run_ended',
        status: 'completed',
        reason: '',
        answer: 'Done.',
        usage,
        steps: 0
      })
    ]);
    expect(state.items).toEqual([{ kind: 'text', text: 'Done.' }]);
    const streamed = fold([
      at(1, { type: 'text_delta', delta: 'Done.' }),
      at(2, {
        type: 'run_ended',
        status: 'completed',
        reason: '',
        answer: 'Done.',
        usage,
        steps: 0
      })
    ]);
    expect(streamed.items).toEqual([{ kind: 'text', text: 'Done.' }]);
  });

  it('marks a kernel restart as a warning notice', () => {
    const state = fold([
      at(1, { type: 'kernel_restarted', step: 1, message: 'The kernel died.' })
    ]);
    expect(state.items).toEqual([
      { kind: 'notice', level: 'warning', message: 'The kernel died.' }
    ]);
  });
});

describe('a stored run as events', () => {
  const record: IRunRecord = {
    run_id: 'r1',
    thread_id: 't',
    kernel_id: 'k',
    notebook_path: 'n.ipynb',
    prompt: 'Count',
    model: 'm',
    status: 'failed',
    reason: 'Timed out.',
    answer: '',
    steps: [
      {
        step: 1,
        code: 'while True: pass',
        outputs: [stdout('a') as Output],
        status: 'timeout',
        execution_count: 2,
        elapsed: 3,
        message: 'Interrupted after 3 s.'
      }
    ],
    usage,
    created: 50,
    ended: 60,
    last_seq: 40
  };

  it('folds into the state the live events gave', () => {
    const state = fold(eventsFromRecord(record));
    expect([state.prompt, state.threadId, state.status, state.reason]).toEqual([
      'Count',
      't',
      'failed',
      'Timed out.'
    ]);
    const step = state.steps.get(1)!;
    expect([step.code, step.status, step.executionCount, step.message]).toEqual(
      ['while True: pass', 'timeout', 2, 'Interrupted after 3 s.']
    );
    expect(step.outputs.items).toEqual([stdout('a')]);
    expect([state.usage, state.ended]).toEqual([usage, 60]);
  });

  it('leaves a run that is still going active, with its usage so far', () => {
    const state = fold(
      eventsFromRecord({ ...record, status: 'running', steps: [], ended: null })
    );
    expect([state.status, state.usage]).toEqual(['running', usage]);
  });

  it('numbers the events from one, so a replay of them is a no-op', () => {
    const events = eventsFromRecord(record);
    expect(events.map(e => e.seq)).toEqual([1, 2, 3]);
    const state = fold(events);
    expect(events.every(e => !applyEvent(state, e))).toBe(true);
  });
});
