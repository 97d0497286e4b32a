import { describe, expect, it } from 'vitest';

import { keepBothName, refusal } from '../src/attachRules';

describe('refusal', () => {
  it('accepts an ordinary file within the limit', () => {
    expect(refusal({ name: 'sales.xlsx', size: 10 }, 100)).toBe('');
  });

  it('says why a file cannot be attached', () => {
    expect(refusal({ name: 'big.csv', size: 2048 }, 1024)).toBe(
      '“big.csv” is 2.0 KB; the limit is 1.0 KB.'
    );
    expect(refusal({ name: '.env', size: 1 }, 0)).toContain('hidden file name');
    expect(refusal({ name: 'a\u0001b', size: 1 }, 0)).toContain(
      'not a valid file name'
    );
    expect(refusal({ name: '..', size: 1 }, 0)).toContain('no usable name');
  });
});

describe('keepBothName', () => {
  it('suffixes before the extension, skipping names taken', () => {
    const taken = new Set(['data.csv', 'data (2).csv']);
    expect(keepBothName('data.csv', taken)).toBe('data (3).csv');
    expect(keepBothName('README', new Set(['README']))).toBe('README (2)');
    expect(keepBothName('.hidden', new Set())).toBe('.hidden (2)');
  });
});
