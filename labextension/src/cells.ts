/**
 * The notebook cells of a run, defined once (docs/cells.md): the twin of
 * `jupyter_codeinterp/cells.py`, producing the same JSON, which the golden fixtures in
 * `tests/fixtures/cells` pin for both. The notebook writer upserts these cells by their tag key.
 */

import type { Output } from './events';
import { isFinal } from './events';
import { joinText } from './outputs';
import { IRunState, RECORDED_STEP_STATUSES } from './runState';

/** The metadata key of every cell we write. */
export const METADATA_KEY = 'codeinterp';

export type CellRole = 'prompt' | 'code' | 'answer';
export const ALL_ROLES: ReadonlySet<CellRole> = new Set<CellRole>([
  'prompt',
  'code',
  'answer'
]);

export interface ICellTag {
  run_id: string;
  /** The step of a code cell; 0 for the prompt and answer cells. */
  step: number;
  role: CellRole;
  thread_id: string;
  /** Present (true) once the run has ended: the cell will not change again. */
  ended?: boolean;
}

/** An nbformat v4 cell without its id (the writer keeps the id of the cell it updates). */
export interface ICellSpec {
  cell_type: 'markdown' | 'code';
  source: string;
  metadata: { [METADATA_KEY]: ICellTag };
  outputs?: Output[];
  execution_count?: number | null;
}

export function promptMarkdown(prompt: string): string {
  const quoted = prompt
    .trim()
    .split('\n')
    .map(line => `> ${line}`)
    .join('\n');
  return `**Code Interpreter prompt**\n\n${quoted}`;
}

/** The answer cell's text: the answer of a completed run, or why the run did not complete. */
export function endMarkdown(state: IRunState): string | null {
  if (state.status === 'completed') {
    return state.answer.trim() ? state.answer : null;
  }
  if (isFinal(state.status)) {
    const label = state.status === 'cancelled' ? 'stopped' : state.status;
    return state.reason
      ? `**Run ${label}:** ${state.reason}`.replace(/\s+$/, '')
      : `**Run ${label}.**`;
  }
  return null;
}

/** What identifies a cell of ours: the same key finds it again on a replay or in another writer. */
export function tagKey(
  tag: Pick<ICellTag, 'run_id' | 'role' | 'step'>
): string {
  return `${tag.run_id}/${tag.role}/${tag.step}`;
}

/** Our tag on a cell's metadata, or null for a cell that is not ours. */
export function readTag(value: unknown): ICellTag | null {
  const tag = value as ICellTag | null | undefined;
  return tag &&
    typeof tag === 'object' &&
    typeof tag.run_id === 'string' &&
    typeof tag.role === 'string'
    ? tag
    : null;
}

/** Every cell of the run as it stands, in notebook order. */
export function runCells(
  state: IRunState,
  roles: ReadonlySet<string> = ALL_ROLES
): ICellSpec[] {
  const cells: ICellSpec[] = [];
  const final = isFinal(state.status);
  const tag = (role: CellRole, step = 0) => {
    const value: ICellTag = {
      run_id: state.runId,
      step,
      role,
      thread_id: state.threadId
    };
    if (final) {
      value.ended = true;
    }
    return { [METADATA_KEY]: value };
  };
  if (roles.has('prompt') && state.prompt) {
    cells.push({
      cell_type: 'markdown',
      source: promptMarkdown(state.prompt),
      metadata: tag('prompt')
    });
  }
  if (roles.has('code')) {
    for (const n of [...state.steps.keys()].sort((a, b) => a - b)) {
      const step = state.steps.get(n)!;
      if (
        step.stage === 'completed' &&
        !RECORDED_STEP_STATUSES.has(step.status)
      ) {
        continue;
      }
      cells.push({
        cell_type: 'code',
        source: step.code,
        metadata: tag('code', n),
        outputs: capCellText(
          step.outputs.items.filter(o => o.output_type !== 'clear_output'),
          step.stage === 'completed'
        ),
        execution_count: step.executionCount
      });
    }
  }
  const text = roles.has('answer') ? endMarkdown(state) : null;
  if (text !== null) {
    cells.push({
      cell_type: 'markdown',
      source: text,
      metadata: tag('answer')
    });
  }
  return cells;
}

/**
 * Most characters of text (streams, plain-text results) one code cell keeps: about what a notebook
 * gets from a kernel in JupyterLab before the server's IOPub rate limit (1 MB/s) drops the rest.
 * The run's record keeps all. The twin of `cells.py`'s `MAX_CELL_TEXT`.
 */
export const MAX_CELL_TEXT = 1_000_000;

export function cutNote(hidden: number): string {
  return (
    `\n[Code Interpreter: ${hidden.toLocaleString('en-US')} more characters of output are not kept ` +
    "in the notebook; the run's record has all of them.]\n"
  );
}

/**
 * `outputs` with at most `limit` characters of text, cut at a line end; once the step is `done`,
 * a note says how much was left out (not while it runs, so the cell only grows). Errors and rich
 * outputs stay whole.
 */
export function capCellText(
  outputs: Output[],
  done: boolean,
  limit = MAX_CELL_TEXT
): Output[] {
  let left = limit;
  let hidden = 0;
  const kept: Output[] = [];
  for (const output of outputs) {
    const o = output as any;
    const data = o.data ?? {};
    let text: string;
    let make: (short: string) => Output;
    if (o.output_type === 'stream') {
      text = joinText(o.text);
      make = short => ({ ...o, text: short });
    } else if (
      (o.output_type === 'execute_result' ||
        o.output_type === 'display_data') &&
      Object.keys(data).length === 1 &&
      'text/plain' in data
    ) {
      text = joinText(data['text/plain']);
      make = short => ({ ...o, data: { 'text/plain': short } });
    } else {
      kept.push(output);
      continue;
    }
    if (text.length <= left) {
      kept.push(output);
      left -= text.length;
      continue;
    }
    const cut = text.lastIndexOf('\n', left - 1);
    const end = cut > left / 2 ? cut + 1 : left;
    hidden += text.length - end;
    if (end > 0) {
      kept.push(make(text.slice(0, end)));
    }
    left = 0;
  }
  if (hidden && done) {
    kept.push({
      output_type: 'stream',
      name: 'stderr',
      text: cutNote(hidden)
    } as Output);
  }
  return kept;
}
