import { describe, expect, it } from 'vitest';

import { describeSpending, formatCost, sumSpending } from '../src/spending';

describe('spending', () => {
  const reported = {
    prompt_tokens: 900,
    completion_tokens: 100,
    total_tokens: 1000
  };

  it('sums tokens and says nothing of cost when no run was priced', () => {
    const s = sumSpending([reported, reported]);
    expect(s).toEqual({ tokens: 2000, estimated: false, cost: null, runs: 2 });
    expect(describeSpending(s)).toBe('2,000 tokens');
  });

  it('marks the sum estimated when any run was counted by the server', () => {
    const s = sumSpending([
      reported,
      { ...reported, estimated: true, cost_usd: 0.0021 }
    ]);
    expect(s.estimated).toBe(true);
    expect(describeSpending(s)).toBe('~2,000 tokens (estimated) · $0.0021');
  });

  it('shows cents for a dear thread and four digits for a cheap one', () => {
    expect(formatCost(1.5)).toBe('$1.50');
    expect(formatCost(0.00042)).toBe('$0.0004');
  });
});
