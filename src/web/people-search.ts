/**
 * Finding someone to talk to in the user directory by the start of their name, ignoring
 * case (the API's search: one short Redis script, whatever the directory's size), asked
 * once typing pauses.
 * @module
 */
import type { MessengerClient } from '../client/index.js';
import type { User } from '../index.js';
import { el, replaceChildren } from './dom.js';
import { reasonOf } from './reasons.js';

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
    // A space inside or at the end is part of a name ("Ann " finds "Ann Lee"); none starts with one.
    const query = input.value.trimStart();
    const mine = ++asked;
    if (!query.trim()) {
      replaceChildren(results);
      status.textContent = '';
      return;
    }
    try {
      // One more than shown: the signed-in user may be among them.
      const found = (await client.searchUsers(query, { limit: SHOWN + 1 })).users;
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
