/**
 * Finding someone to talk to in the user directory by name. The API lists users a page
 * at a time and finds one by exact name: the search asks for the exact name and reads the
 * first pages of the directory for names that contain what was typed.
 * @module
 */
import type { MessengerClient } from '../client/index.js';
import type { User } from '../index.js';
import { el, replaceChildren } from './dom.js';
import { reasonOf } from './reasons.js';

/** How many users of the directory a search reads at most (pages of 100). */
const SCANNED = 500;
const SHOWN = 8;

export function peopleSearch(
  client: MessengerClient,
  me: User,
  start: (user: User) => void,
): HTMLElement {
  const input = el('input', {
    attrs: {
      id: 'people-search',
      type: 'search',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'Find people by name',
      'aria-controls': 'people-results',
    },
  });
  const results = el('ul', {
    class: 'people',
    attrs: { id: 'people-results', 'aria-label': 'People found' },
  });
  const status = el('p', { class: 'search-status', attrs: { role: 'status' } });
  let asked = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const search = async () => {
    const query = input.value.trim().toLowerCase();
    const mine = ++asked;
    if (!query) {
      replaceChildren(results);
      status.textContent = '';
      return;
    }
    try {
      const found = await find(client, query);
      if (mine !== asked) return; // a newer search is under way
      const people = found.filter((user) => user.id !== me.id).slice(0, SHOWN);
      replaceChildren(
        results,
        ...people.map((user) =>
          el(
            'li',
            {},
            el(
              'button',
              {
                class: 'person',
                attrs: { type: 'button' },
                on: {
                  click: () => {
                    input.value = '';
                    replaceChildren(results);
                    status.textContent = '';
                    start(user);
                  },
                },
              },
              `Chat with ${user.username}`,
            ),
          ),
        ),
      );
      status.textContent =
        people.length === 0
          ? `No one named like “${input.value.trim()}”.`
          : `${people.length} found.`;
    } catch (error) {
      if (mine === asked) status.textContent = reasonOf(error, 'search');
    }
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void search(), 200);
  });
  return el(
    'form',
    {
      class: 'search',
      attrs: { role: 'search' },
      on: {
        submit: (event) => {
          event.preventDefault();
          clearTimeout(timer);
          void search();
        },
      },
    },
    el('label', { attrs: { for: 'people-search' } }, 'Start a conversation'),
    input,
    status,
    results,
  );
}

/** The exact name first, then names containing the query, in directory order. */
async function find(client: MessengerClient, query: string): Promise<User[]> {
  const exact = client.findUserByUsername(query).catch(() => null);
  const found: User[] = [];
  let after: string | undefined;
  for (let read = 0; read < SCANNED; read += 100) {
    const page = await client.listAllUsers({ limit: 100, ...(after ? { after } : {}) });
    found.push(...page.users.filter((user) => user.username.toLowerCase().includes(query)));
    after = page.users.at(-1)?.id;
    if (!page.hasMore || !after || found.length >= SHOWN + 1) break;
  }
  const first = await exact;
  return first ? [first, ...found.filter((user) => user.id !== first.id)] : found;
}
