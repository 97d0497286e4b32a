/**
 * What runs spent, in words: tokens (marked estimated where the endpoint reported none and the
 * server counted them) and the estimated cost when the model has a price (c.CodeInterpreter.prices).
 */

import type { IUsage } from './events';

export interface ISpending {
  tokens: number;
  estimated: boolean;
  /** USD, or null when no run was priced. */
  cost: number | null;
  runs: number;
}

/** The sum of some runs' usage (a thread's, as the sidebar knows its runs). */
export function sumSpending(usages: IUsage[]): ISpending {
  let tokens = 0;
  let estimated = false;
  let cost: number | null = null;
  for (const u of usages) {
    tokens += u.total_tokens;
    estimated = estimated || !!u.estimated;
    if (typeof u.cost_usd === 'number') {
      cost = (cost ?? 0) + u.cost_usd;
    }
  }
  return { tokens, estimated, cost, runs: usages.length };
}

/** `~1,234 tokens (estimated) · $0.0012`, as the CLI says it. */
export function describeSpending(s: ISpending): string {
  const tokens = `${s.estimated ? '~' : ''}${s.tokens.toLocaleString('en-US')} tokens${s.estimated ? ' (estimated)' : ''}`;
  return s.cost === null ? tokens : `${tokens} · ${formatCost(s.cost)}`;
}

/** Dollars with enough digits that a cheap run does not show as $0.00. */
export function formatCost(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}
