/**
 * A step's outputs as a notebook shows them, defined once for the extension (the twin of
 * `OutputList` in `jupyter_codeinterp/runstate.py`): the run fold settles them, and the step view
 * and the notebook writer bring what they show up to date with `outputPatch`, appending what
 * streamed in rather than re-rendering, so nothing flickers.
 */

import type { Output } from './events';

/** The text of a stream output, which nbformat allows as a list of lines. */
export function joinText(text: unknown): string {
  return Array.isArray(text) ? text.join('') : String(text ?? '');
}

/**
 * Outputs as they settle while they arrive: `clear_output` empties the list (with `wait`, only
 * when the next output comes, as JupyterLab does) and consecutive streams of one name merge.
 * Output objects are never mutated (a merge makes a new one), so a view may keep references.
 */
export class OutputList {
  items: Output[] = [];
  clearPending = false;

  static of(outputs: readonly Output[]): OutputList {
    const list = new OutputList();
    for (const output of outputs) {
      list.add(output);
    }
    return list;
  }

  add(output: Output): void {
    if (output.output_type === 'clear_output') {
      if ((output as { wait?: boolean }).wait) {
        this.clearPending = true;
      } else {
        this.items = [];
        this.clearPending = false;
      }
      return;
    }
    if (this.clearPending) {
      this.items = [];
      this.clearPending = false;
    }
    const last = this.items[this.items.length - 1];
    if (
      last &&
      output.output_type === 'stream' &&
      last.output_type === 'stream' &&
      last.name === output.name
    ) {
      const text = joinText(last.text) + joinText(output.text);
      this.items = [...this.items.slice(0, -1), { ...last, text } as Output];
    } else {
      this.items = [...this.items, { ...output }];
    }
  }
}

/** The outputs a notebook would keep from `outputs` (clears applied, streams merged). */
export function settle(outputs: readonly Output[]): Output[] {
  return OutputList.of(outputs).items;
}

/** What an output shows: streams by their joined text, errors by name and traceback, the rest by data. */
function shown(o: any): unknown[] {
  switch (o.output_type) {
    case 'stream':
      return ['stream', o.name, joinText(o.text)];
    case 'error':
      return ['error', o.ename, o.evalue, o.traceback];
    default:
      return [o.output_type, o.data];
  }
}

/** A string that is equal for two outputs exactly when they show the same thing. */
export function outputsKey(list: readonly Output[]): string {
  return JSON.stringify(list.map(shown));
}

/** Whether two output lists show the same thing. */
export function sameOutputs(
  a: readonly Output[],
  b: readonly Output[]
): boolean {
  return outputsKey(a) === outputsKey(b);
}

function sameOutput(a: Output, b: Output): boolean {
  return a === b || JSON.stringify(shown(a)) === JSON.stringify(shown(b));
}

/**
 * How to bring a shown output list to `wanted`: `append` these (an output area merges a stream
 * appended after a stream of the same name, so a stream that grew comes as its new text only), or
 * `reset` to `wanted` (something shown changed or went: a clear, a replay into other outputs).
 * `null` when nothing changes.
 */
export type OutputPatch =
  | { kind: 'append'; outputs: Output[] }
  | { kind: 'reset'; outputs: Output[] }
  | null;

export function outputPatch(
  current: readonly Output[],
  wanted: readonly Output[]
): OutputPatch {
  const n = current.length;
  const reset: OutputPatch = { kind: 'reset', outputs: [...wanted] };
  if (n > wanted.length) {
    return reset;
  }
  for (let i = 0; i < n - 1; i++) {
    if (!sameOutput(current[i], wanted[i])) {
      return reset;
    }
  }
  if (n === 0 || sameOutput(current[n - 1], wanted[n - 1])) {
    return n === wanted.length
      ? null
      : { kind: 'append', outputs: wanted.slice(n) };
  }
  const before = current[n - 1];
  const after = wanted[n - 1];
  if (
    before.output_type === 'stream' &&
    after.output_type === 'stream' &&
    before.name === after.name
  ) {
    const old = joinText(before.text);
    const text = joinText(after.text);
    if (text.startsWith(old)) {
      const grown = { ...after, text: text.slice(old.length) } as Output;
      return { kind: 'append', outputs: [grown, ...wanted.slice(n)] };
    }
  }
  return reset;
}
