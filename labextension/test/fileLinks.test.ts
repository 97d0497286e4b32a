import { describe, expect, it } from 'vitest';

import { folderOf, formatBytes, fromRoot, linkFiles } from '../src/fileLinks';

function cite(answer: string, mention: string, path = mention, from = 0) {
  const start = answer.indexOf(mention, from);
  return { path, start, end: start + mention.length };
}

describe('linkFiles', () => {
  it('points a sandbox link at the relative file and links plain mentions', () => {
    const answer =
      'See [the data](sandbox:/mnt/data/cleaned.csv) and chart.png.';
    const linked = linkFiles(answer, [
      cite(answer, 'sandbox:/mnt/data/cleaned.csv', 'cleaned.csv'),
      cite(answer, 'chart.png')
    ]);
    expect(linked).toBe(
      'See [the data](cleaned.csv) and [chart.png](chart.png).'
    );
  });

  it('leaves a mention that is a link text alone, and links code spans whole', () => {
    const answer =
      '[cleaned.csv](sandbox:/mnt/data/cleaned.csv), `out/my chart.png`';
    const linked = linkFiles(answer, [
      cite(answer, 'cleaned.csv'),
      cite(answer, 'sandbox:/mnt/data/cleaned.csv', 'cleaned.csv'),
      cite(answer, 'out/my chart.png')
    ]);
    expect(linked).toBe(
      '[cleaned.csv](cleaned.csv), [`out/my chart.png`](out/my%20chart.png)'
    );
  });

  it('ignores spans that do not fit the answer', () => {
    expect(linkFiles('short', [{ path: 'x', start: 3, end: 99 }])).toBe(
      'short'
    );
  });
});

describe('paths', () => {
  it('resolves a file of the working folder from the root', () => {
    expect(fromRoot(folderOf('work/analysis.ipynb'), 'out.csv')).toBe(
      'work/out.csv'
    );
    expect(fromRoot(folderOf('analysis.ipynb'), 'out.csv')).toBe('out.csv');
  });

  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2.0 KB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MB');
  });
});
