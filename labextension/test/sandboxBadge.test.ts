import { describe, expect, it } from 'vitest';

import { sandboxState } from '../src/sandboxState';

describe('sandboxState', () => {
  const specs = {
    python3: 'Python 3',
    'python3-sandbox': 'Python 3 (sandboxed)'
  };

  it('knows the sandboxed kernel by its name', () => {
    expect(sandboxState('python3-sandbox', specs)).toEqual({
      kind: 'sandboxed'
    });
  });

  it('offers the installed sandbox kernel to a notebook on another kernel', () => {
    expect(sandboxState('python3', specs)).toEqual({
      kind: 'available',
      spec: 'python3-sandbox',
      displayName: 'Python 3 (sandboxed)'
    });
  });

  it('offers nothing when no sandbox kernel is installed', () => {
    expect(sandboxState('python3', { python3: 'Python 3' })).toEqual({
      kind: 'none'
    });
  });
});
