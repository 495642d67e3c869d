/** The user's sessions (devices signed in), in a dialog: this one marked, the others can be ended. */
import type { MessengerClient, SessionSummary } from '../client/index.js';
import { el, replaceChildren } from './dom.js';
import { reasonOf } from './reasons.js';
import { fullTime } from './times.js';

export function sessionsDialog(client: MessengerClient): {
  dialog: HTMLDialogElement;
  open: () => void;
} {
  const list = el('ul', { class: 'sessions' });
  const status = el('p', { class: 'form-error', attrs: { role: 'status' } });
  const close = el(
    'button',
    { attrs: { type: 'button' }, on: { click: () => dialog.close() } },
    'Close',
  );
  const dialog = el(
    'dialog',
    { class: 'sessions-dialog', attrs: { 'aria-labelledby': 'sessions-title' } },
    el('h2', { attrs: { id: 'sessions-title' } }, 'Your sessions'),
    el('p', {}, 'Each device or browser you are logged in on. Ending one logs it out.'),
    list,
    status,
    el('div', { class: 'actions' }, close),
  );
  const show = async () => {
    let sessions: SessionSummary[];
    try {
      sessions = await client.sessions();
    } catch (error) {
      status.textContent = reasonOf(error, 'list the sessions');
      return;
    }
    status.textContent = '';
    replaceChildren(
      list,
      ...sessions.map((session) =>
        el(
          'li',
          { class: session.current ? 'current' : '' },
          el('strong', {}, session.current ? 'This browser' : describe(session.userAgent)),
          el(
            'span',
            {},
            `Logged in ${fullTime(session.createdAt)}, last used ${fullTime(session.lastSeenAt)}`,
          ),
          session.current
            ? null
            : el(
                'button',
                {
                  attrs: { type: 'button' },
                  on: {
                    click: async () => {
                      try {
                        await client.endSession(session.id);
                        await show();
                        // After the list is drawn again: it no longer shows the one ended.
                        status.textContent = 'Session ended.';
                      } catch (error) {
                        status.textContent = reasonOf(error, 'end the session');
                      }
                    },
                  },
                },
                'End session',
              ),
        ),
      ),
    );
  };
  return {
    dialog,
    open: () => {
      status.textContent = '';
      dialog.showModal();
      close.focus();
      void show();
    },
  };
}

/** A user agent in a few words ("Firefox on Linux"), or as it is. */
function describe(userAgent: string): string {
  const browser = /(Firefox|Edg|Chrome|Safari)\//.exec(userAgent)?.[1];
  const system = /(Windows|Android|iPhone|Mac OS|Linux)/.exec(userAgent)?.[1];
  if (!browser) return userAgent || 'Another device';
  const name = browser === 'Edg' ? 'Edge' : browser;
  return system ? `${name} on ${system === 'Mac OS' ? 'macOS' : system}` : name;
}
