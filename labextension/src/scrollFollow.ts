/**
 * Keeps a scrolled area at its end while content arrives, until the user scrolls away from the
 * end (and again once they scroll back). Only the user's own scrolling (wheel, touch, keys,
 * scrollbar) decides: content that shrinks and grows back while rendering must not.
 */

export class ScrollFollow {
  constructor(
    private _node: HTMLElement,
    private _enabled: () => boolean
  ) {
    // Content that grows after the last event (images, markdown) keeps the view at the end.
    this._resizeObserver = new ResizeObserver(() => {
      if (this._following && this._enabled()) {
        _node.scrollTop = _node.scrollHeight;
      }
    });
    const userInput = () => (this._userScrollAt = Date.now());
    for (const type of ['wheel', 'touchmove', 'keydown', 'mousedown']) {
      _node.addEventListener(type, userInput, { passive: true });
    }
    _node.addEventListener('scroll', () => {
      if (Date.now() - this._userScrollAt > 1000) {
        return;
      }
      this._following =
        _node.scrollHeight - _node.scrollTop - _node.clientHeight < 80;
    });
  }

  /** Follow the growth of `content` (the area's new content), from its end. */
  watch(content: HTMLElement): void {
    this._resizeObserver.disconnect();
    this._resizeObserver.observe(content);
    this._following = true;
  }

  /** Scroll to the end on the next frame: always if `force`, else while following. */
  toEnd(force: boolean): void {
    if (!force && (!this._enabled() || !this._following)) {
      return;
    }
    requestAnimationFrame(() => {
      this._node.scrollTop = this._node.scrollHeight;
    });
  }

  dispose(): void {
    this._resizeObserver.disconnect();
  }

  private _resizeObserver: ResizeObserver;
  private _following = true;
  private _userScrollAt = 0;
}
