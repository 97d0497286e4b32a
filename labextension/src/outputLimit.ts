/**
 * The sidebar shows a step's outputs up to a budget of characters and says what it left out: a
 * 5 MB print would otherwise be rendered (and re-compared on every event) in a panel a few hundred
 * pixels wide. The notebook cell keeps every output whole, under JupyterLab's own output limits.
 * Pure, so it is unit-tested without a browser.
 */

import type { Output } from './events';
import { joinText } from './outputs';

/** Characters of text the sidebar shows for one step (streams, plain-text results, tracebacks). */
export const SIDEBAR_OUTPUT_CHARS = 50_000;

export interface ILimitedOutputs {
  /** What to render: every output, text cut where the budget ran out. */
  outputs: Output[];
  /** Characters of text not shown (0: everything is). */
  hidden: number;
}

/** Characters of a traceback shown (its end, where the error is): errors are never left out. */
export const TRACEBACK_CHARS = 10_000;

/** The text an output shows, and how to make one like it with another text. */
function textOf(o: any): [string, (text: string) => Output] | null {
  if (o.output_type === 'stream') {
    return [joinText(o.text), text => ({ ...o, text }) as Output];
  }
  const data = o.data ?? {};
  const richer = Object.keys(data).some(m => m !== 'text/plain');
  if (!richer && 'text/plain' in data) {
    return [
      joinText(data['text/plain']),
      text => ({ ...o, data: { ...data, 'text/plain': text } }) as Output
    ];
  }
  return null;
}

/** An error with the end of its traceback only, and how many characters went. */
function shortError(o: any): [Output, number] {
  const tb: string[] = Array.isArray(o.traceback) ? o.traceback : [];
  let size = 0;
  let keep = tb.length;
  while (keep > 0 && size + tb[keep - 1].length <= TRACEBACK_CHARS) {
    size += tb[keep - 1].length;
    keep--;
  }
  if (keep === 0) {
    return [o, 0];
  }
  const gone = tb.slice(0, keep).reduce((n, line) => n + line.length, 0);
  return [{ ...o, traceback: tb.slice(keep) } as Output, gone];
}

/**
 * `outputs` within `budget` characters of text; rich outputs (images, HTML) are kept as they are,
 * and errors always show, with the end of their traceback.
 */
export function limitOutputs(
  outputs: readonly Output[],
  budget = SIDEBAR_OUTPUT_CHARS
): ILimitedOutputs {
  let left = budget;
  let hidden = 0;
  const shown: Output[] = [];
  for (const output of outputs) {
    if (output.output_type === 'error') {
      const [short, gone] = shortError(output);
      shown.push(short);
      hidden += gone;
      continue;
    }
    const text = textOf(output);
    if (!text) {
      shown.push(output);
      continue;
    }
    const [value, make] = text;
    if (value.length <= left) {
      shown.push(output);
      left -= value.length;
      continue;
    }
    hidden += value.length - left;
    if (left > 0) {
      // Cut at a line end when there is one near, so the last line shown is whole.
      const cut = value.lastIndexOf('\n', left);
      const end = cut > left / 2 ? cut + 1 : left;
      hidden += left - end;
      shown.push(make(value.slice(0, end)));
    }
    left = 0;
  }
  return { outputs: shown, hidden };
}

/** "4.9 MB", "12,345 characters": how much was left out, in words. */
export function describeHidden(chars: number): string {
  if (chars >= 1_000_000) {
    return `${(chars / 1_000_000).toFixed(1)} MB`;
  }
  if (chars >= 10_000) {
    return `${Math.round(chars / 1000).toLocaleString('en-US')} kB`;
  }
  return `${chars.toLocaleString('en-US')} characters`;
}
