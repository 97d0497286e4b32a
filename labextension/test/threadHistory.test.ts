import { describe, expect, it } from 'vitest';

import type { IRunRecord } from '../src/request';
import { historyAction, recentRunAction } from '../src/threadHistory';

const run = (fields: Partial<IRunRecord>): IRunRecord => ({
  run_id: 'r',
  thread_id: 't',
  kernel_id: 'k',
  notebook_path: 'n.ipynb',
  prompt: 'p',
  model: 'm',
  status: 'completed',
  reason: '',
  answer: '',
  usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  created: 100,
  ended: 200,
  last_seq: 9,
  ...fields
});
const none = { count: 0, ended: false };
const savedAt = 150_000; // ms: the file was saved between the run's start and its end

describe('what a reopened notebook does with each run of its thread', () => {
  it('follows a run still going', () => {
    expect(
      historyAction(run({ status: 'running', ended: null }), none, 0)
    ).toBe('follow');
    expect(historyAction(run({ status: 'queued', ended: null }), none, 0)).toBe(
      'follow'
    );
  });

  it('follows a run whose cells were saved before it ended', () => {
    expect(historyAction(run({}), { count: 2, ended: false }, savedAt)).toBe(
      'follow'
    );
    expect(historyAction(run({}), { count: 2, ended: true }, savedAt)).toBe(
      'show'
    );
  });

  it('follows a run that ended after the last save and left no cell (closed without saving)', () => {
    expect(historyAction(run({ ended: 200 }), none, savedAt)).toBe('follow');
  });

  it('shows a run whose cells were deleted and the file saved since', () => {
    expect(historyAction(run({ ended: 200 }), none, 300_000)).toBe('show');
    expect(historyAction(run({ ended: 200 }), none, 0)).toBe('show');
  });
});

describe('what the poll does with a run it found', () => {
  const tab = { following: false, seen: null, threadId: 't', busy: false };

  it('follows a run of the shown thread', () => {
    expect(recentRunAction(run({}), tab)).toBe('follow');
  });

  it('skips a run it follows, or followed to its end', () => {
    expect(recentRunAction(run({}), { ...tab, following: true })).toBe('skip');
    expect(recentRunAction(run({}), { ...tab, seen: { active: false } })).toBe(
      'skip'
    );
    expect(recentRunAction(run({}), { ...tab, seen: { active: true } })).toBe(
      'follow'
    );
  });

  it('switches to another thread, unless busy with a run of its own', () => {
    const other = run({ thread_id: 'u' });
    expect(recentRunAction(other, tab)).toBe('switch');
    expect(recentRunAction(other, { ...tab, busy: true })).toBe('later');
  });
});
