/** What may be attached to a prompt, and the name a kept-both upload gets (pure: unit-tested). */

import { formatBytes } from './fileLinks';

/** Why a file cannot be attached, or '' when it can. */
export function refusal(
  file: { name: string; size: number },
  maxBytes: number
): string {
  const name = file.name;
  if (!name.trim() || name === '.' || name === '..') {
    return 'The file has no usable name.';
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f/\\]/.test(name)) {
    return `“${name}” is not a valid file name.`;
  }
  if (name.startsWith('.')) {
    return `“${name}” is a hidden file name: rename it first.`;
  }
  if (maxBytes > 0 && file.size > maxBytes) {
    return `“${name}” is ${formatBytes(file.size)}; the limit is ${formatBytes(maxBytes)}.`;
  }
  return '';
}

/** `name` with ` (2)`, ` (3)`, … before its extension: the first not in `taken`. */
export function keepBothName(name: string, taken: ReadonlySet<string>): string {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  for (let n = 2; ; n++) {
    const candidate = `${stem} (${n})${ext}`;
    if (!taken.has(candidate)) {
      return candidate;
    }
  }
}
