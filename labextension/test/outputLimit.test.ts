import { describe, expect, it } from 'vitest';

import type { Output } from '../src/events';
import { describeHidden, limitOutputs } from '../src/outputLimit';

const out = (text: string, name = 'stdout') =>
  ({ output_type: 'stream', name, text }) as Output;
const image = {
  output_type: 'display_data',
  data: { 'image/png': 'iVBOR', 'text/plain': '<Figure>' },
  metadata: {}
} as unknown as Output;

describe('the sidebar shows outputs within a budget', () => {
  it('keeps outputs within the budget as they are', () => {
    const outputs = [out('a\n'), image, out('b\n', 'stderr')];
    expect(limitOutputs(outputs, 100)).toEqual({ outputs, hidden: 0 });
  });

  it('cuts a long stream at a line end and counts what it left out', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('');
    const { outputs, hidden } = limitOutputs([out(lines)], 100);
    const shown = (outputs[0] as any).text as string;
    expect(shown.endsWith('\n')).toBe(true);
    expect(shown.length).toBeLessThanOrEqual(100);
    expect(shown.length + hidden).toBe(lines.length);
    expect(lines.startsWith(shown)).toBe(true);
  });

  it('drops text past the budget but keeps images', () => {
    const { outputs, hidden } = limitOutputs(
      [out('x'.repeat(80)), out('y'.repeat(50), 'stderr'), image],
      100
    );
    expect(outputs).toEqual([
      out('x'.repeat(80)),
      out('y'.repeat(20), 'stderr'),
      image
    ]);
    expect(hidden).toBe(30);
  });

  it('limits plain-text results; an error always shows, with the end of its traceback', () => {
    const result = {
      output_type: 'execute_result',
      data: { 'text/plain': 'r'.repeat(300) },
      metadata: {}
    };
    const frames = Array.from({ length: 30 }, (_, i) =>
      `frame ${i} `.padEnd(1000, '.')
    );
    const error = {
      output_type: 'error',
      ename: 'E',
      evalue: 'v',
      traceback: frames
    };
    const { outputs, hidden } = limitOutputs(
      [result as unknown as Output, error as unknown as Output],
      100
    );
    expect(((outputs[0] as any).data['text/plain'] as string).length).toBe(100);
    expect((outputs[1] as any).ename).toBe('E');
    expect((outputs[1] as any).traceback).toEqual(frames.slice(20));
    expect(hidden).toBe(200 + 20 * 1000);
  });

  it('says how much in words', () => {
    expect(describeHidden(4_950_000)).toBe('5.0 MB');
    expect(describeHidden(12_345)).toBe('12 kB');
    expect(describeHidden(345)).toBe('345 characters');
  });
});
