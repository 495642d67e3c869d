/**
 * The web page (docs/web.md): the sign-in form, or the chat once the browser holds a
 * session cookie. The client talks to the server on the page's own origin; with no token
 * it uses that HttpOnly cookie, and sends the session's CSRF token on unsafe requests.
 * @module
 */
import { MessengerClient, SessionEndedError } from '../client/index.js';
import { Chat } from './chat.js';
import { el, replaceChildren } from './dom.js';
import { reasonOf } from './reasons.js';
import { showSignIn } from './sign-in.js';
import { showUnreadInTitle } from './status.js';

const root = document.getElementById('app') as HTMLElement;

async function boot(notice?: string): Promise<void> {
  // A new client for each session: nothing of the last one's CSRF token is kept.
  const client = new MessengerClient({ server: location.origin });
  try {
    const { user } = await client.me();
    await Chat.start(root, client, user, (why) => void boot(why));
  } catch (error) {
    showUnreadInTitle(0);
    if (error instanceof SessionEndedError) return showSignIn(root, () => void boot(), notice);
    replaceChildren(
      root,
      el(
        'main',
        { class: 'sign-in-page' },
        el(
          'div',
          { class: 'sign-in' },
          el('h1', {}, 'Messenger'),
          el('p', { class: 'form-error', attrs: { role: 'alert' } }, reasonOf(error, 'start')),
          el(
            'button',
            { class: 'primary', attrs: { type: 'button' }, on: { click: () => void boot(notice) } },
            'Try again',
          ),
        ),
      ),
    );
  }
}

void boot();
