/**
 * What the page tells besides the conversations: the connection banner, notices of
 * messages in other conversations, the tab title's unread count, and the polite live
 * region screen readers read new messages from.
 * @module
 */
import { el, replaceChildren } from './dom.js';

const TITLE = 'Messenger';

/** The tab title: the total unread count first, as chat apps do. */
export function showUnreadInTitle(total: number): void {
  document.title = total > 0 ? `(${total}) ${TITLE}` : TITLE;
}

/** Tells screen readers (politely: after what they are reading) a line of text. */
export function announce(text: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.append(el('p', {}, text));
  // Keep the last few: the region is read by additions, old lines are only clutter.
  while (region.childElementCount > 5) region.firstElementChild?.remove();
}

/** The banner over the page that says whether the live connection holds. */
export class ConnectionBanner {
  readonly element = el('div', { class: 'banner', attrs: { role: 'status', hidden: true } });
  #hideTimer: ReturnType<typeof setTimeout> | undefined;

  /** `serverPaused`: the connection holds, but the server cannot reach its Redis. */
  lost(serverPaused = false): void {
    clearTimeout(this.#hideTimer);
    this.element.dataset.state = 'lost';
    replaceChildren(
      this.element,
      serverPaused
        ? 'The server cannot reach its database: new messages will come once it is back. Messages you send will wait.'
        : 'Connection lost: reconnecting… Messages you send will wait.',
    );
    this.element.hidden = false;
  }

  back(): void {
    if (this.element.hidden) return;
    clearTimeout(this.#hideTimer);
    this.element.dataset.state = 'back';
    replaceChildren(this.element, 'Back online: caught up.');
    this.#hideTimer = setTimeout(() => {
      this.element.hidden = true;
    }, 4000);
  }
}

/** Notices of messages that came in conversations other than the open one. */
export class Notices {
  readonly element = el('div', { class: 'notices' });

  /** Shows a notice; `open` opens that conversation. */
  show(from: string, preview: string, open: () => void): void {
    this.element.querySelector(`[data-from="${CSS.escape(from)}"]`)?.remove();
    const notice = el(
      'button',
      {
        class: 'notice',
        attrs: { type: 'button', 'data-from': from },
        on: {
          click: () => {
            notice.remove();
            open();
          },
        },
      },
      el('strong', {}, `New message from ${from}`),
      el('span', { class: 'preview', attrs: { dir: 'auto' } }, preview),
    );
    this.element.append(notice);
    setTimeout(() => notice.remove(), 8000);
  }

  /** Removes the notices of one conversation (it was opened). */
  clear(from: string): void {
    this.element.querySelector(`[data-from="${CSS.escape(from)}"]`)?.remove();
  }
}
