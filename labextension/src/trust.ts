/**
 * Trust of what a run shows. Everything the model writes and everything its code outputs is
 * untrusted: rendered with `trusted: false`, so JupyterLab's sanitiser strips scripts, event
 * handlers and `javascript:` URLs, and renderers of active content (JavaScript, SVG, PDF) are not
 * used. Only the user, by an explicit action, trusts a run's outputs, as JupyterLab's own
 * "Trust Notebook" does for cells.
 */

import { Dialog, Sanitizer, showDialog } from '@jupyterlab/apputils';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import type { Output } from './events';

/** Mime types that render the same whether trusted or not. */
const INERT_TYPES: ReadonlySet<string> = new Set([
  'text/plain',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/bmp'
]);

/** Whether trusting these outputs could change how they render (they hold HTML, markdown, JS...). */
export function hasActiveContent(outputs: Iterable<Output>): boolean {
  for (const output of outputs) {
    const data = (output as { data?: Record<string, unknown> }).data;
    if (data && Object.keys(data).some(type => !INERT_TYPES.has(type))) {
      return true;
    }
  }
  return false;
}

const strict = new WeakMap<IRenderMimeRegistry, IRenderMimeRegistry>();

/**
 * A clone of `base` whose sanitiser is stricter than JupyterLab's default in one way: untrusted
 * HTML loses `data-commandlinker-*` attributes, with which a click on a harmless-looking button
 * would run any JupyterLab command (open a terminal, run cells). Everything else (resolver, link
 * handler, LaTeX, factories) is `base`'s.
 */
export function untrustedRendermime(
  base: IRenderMimeRegistry
): IRenderMimeRegistry {
  let clone = strict.get(base);
  if (!clone) {
    const sanitizer = new Sanitizer();
    sanitizer.setAllowCommandLinker?.(false);
    const autolink = base.sanitizer.getAutolink?.();
    if (autolink !== undefined) {
      sanitizer.setAutolink(autolink);
    }
    clone = base.clone({ sanitizer });
    strict.set(base, clone);
  }
  return clone;
}

/** Ask the user to confirm trusting a run's outputs; resolves to their answer. */
export async function confirmTrust(): Promise<boolean> {
  const result = await showDialog({
    title: 'Trust the outputs of this run?',
    body:
      'The model wrote this code, and its outputs may hold data from files or web pages. ' +
      'Trusted outputs may run JavaScript in this Jupyter page, with your session: ' +
      'trust them only if you know what they contain. ' +
      'The answer text always stays sanitised.',
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: 'Trust outputs', ariaLabel: 'Trust outputs' })
    ]
  });
  return result.button.accept;
}
