/** Whether a kernel is the sandboxed one, or one is installed to switch to (pure: unit-tested). */

export type SandboxState =
  | { kind: 'sandboxed' }
  | { kind: 'available'; spec: string; displayName: string }
  | { kind: 'none' };

/** The sandbox state of a kernel named `kernel`, given the installed kernelspecs (name → display name). */
export function sandboxState(
  kernel: string,
  specs: Record<string, string>
): SandboxState {
  if (/sandbox/i.test(kernel)) {
    return { kind: 'sandboxed' };
  }
  const spec = Object.keys(specs)
    .sort()
    .find(name => /sandbox/i.test(name));
  return spec
    ? { kind: 'available', spec, displayName: specs[spec] }
    : { kind: 'none' };
}
