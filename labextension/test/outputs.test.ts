import { describe, expect, it } from 'vitest';

import type { Output } from '../src/events';
import { OutputList, outputPatch, sameOutputs, settle } from '../src/outputs';

const out = (text: string, name = 'stdout') =>
  ({ output_type: 'stream', name, text }) as Output;
const clear = (wait = false) =>
  ({ output_type: 'clear_output', wait }) as unknown as Output;
const result = (plain: string) =>
  ({
    output_type: 'execute_result',
    data: { 'text/plain': plain },
    metadata: {},
    execution_count: 1
  }) as Output;

describe('outputs as a notebook shows them', () => {
  it('merges consecutive streams of the same name', () => {
    expect(settle([out('a'), out('b'), out('e', 'stderr'), out('c')])).toEqual([
      out('ab'),
      out('e', 'stderr'),
      out('c')
    ]);
  });

  it('joins stream text given as a list of lines', () => {
    const lines = { output_type: 'stream', name: 'stdout', text: ['a\n', 'b'] };
    expect(settle([lines as unknown as Output, out('c')])).toEqual([
      out('a\nbc')
    ]);
  });

  it('clears at once, or with wait only when the next output arrives', () => {
    expect(settle([out('old'), clear()])).toEqual([]);
    const list = OutputList.of([out('old'), clear(true)]);
    expect(list.items).toEqual([out('old')]);
    expect(list.clearPending).toBe(true);
    list.add(out('new'));
    expect(list.items).toEqual([out('new')]);
    expect(list.clearPending).toBe(false);
  });

  it('never mutates an output it was given or handed out', () => {
    const first = out('a');
    const list = OutputList.of([first]);
    const shown = list.items[0];
    list.add(out('b'));
    expect(first).toEqual(out('a'));
    expect(shown).toEqual(out('a'));
    expect(list.items[0]).toEqual(out('ab'));
  });

  it('compares what outputs show, not how they are stored', () => {
    const lines = {
      output_type: 'stream',
      name: 'stdout',
      text: ['a', 'b']
    } as unknown as Output;
    expect(sameOutputs([lines], [out('ab')])).toBe(true);
    expect(
      sameOutputs([result('1')], [{ ...result('1'), execution_count: 7 }])
    ).toBe(true);
    expect(sameOutputs([result('1')], [result('2')])).toBe(false);
  });
});

describe('bringing shown outputs up to date', () => {
  it('changes nothing when they already match', () => {
    expect(outputPatch([], [])).toBeNull();
    expect(
      outputPatch([out('a'), result('1')], [out('a'), result('1')])
    ).toBeNull();
  });

  it('appends new outputs', () => {
    expect(outputPatch([out('a')], [out('a'), result('1')])).toEqual({
      kind: 'append',
      outputs: [result('1')]
    });
    expect(outputPatch([], [out('a')])).toEqual({
      kind: 'append',
      outputs: [out('a')]
    });
  });

  it('appends only the new text of a stream that grew', () => {
    expect(outputPatch([out('1\n')], [out('1\n2\n')])).toEqual({
      kind: 'append',
      outputs: [out('2\n')]
    });
    expect(outputPatch([out('1\n')], [out('1\n2\n'), result('x')])).toEqual({
      kind: 'append',
      outputs: [out('2\n'), result('x')]
    });
  });

  it('resets when something shown changed or went', () => {
    expect(outputPatch([out('old')], [out('new')])).toEqual({
      kind: 'reset',
      outputs: [out('new')]
    });
    expect(outputPatch([out('a'), result('1')], [out('a')])).toEqual({
      kind: 'reset',
      outputs: [out('a')]
    });
    expect(outputPatch([out('a')], [])).toEqual({ kind: 'reset', outputs: [] });
    expect(outputPatch([out('a', 'stderr')], [out('ab')])).toEqual({
      kind: 'reset',
      outputs: [out('ab')]
    });
  });

  it('following a live list with patches shows what settling shows', () => {
    const live = [
      out('1'),
      out('2'),
      clear(true),
      out('3'),
      result('r'),
      out('4'),
      out('5')
    ];
    const list = new OutputList();
    let shown: Output[] = [];
    for (const output of live) {
      list.add(output);
      const patch = outputPatch(shown, list.items);
      if (patch?.kind === 'reset') {
        shown = [...patch.outputs];
      } else if (patch) {
        shown = settle([...shown, ...patch.outputs]);
      }
    }
    expect(shown).toEqual(settle(live));
    expect(shown).toEqual([out('3'), result('r'), out('45')]);
  });
});
