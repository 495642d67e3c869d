/**
 * One open conversation: its history (older pages load when scrolling up, with no gap
 * and no repeat: each page is asked for before the oldest message shown, and messages
 * are kept by id), day separators, what is being sent, and the box to write in.
 * @module
 */
import type { MessengerClient } from '../client/index.js';
import type { Message, User } from '../index.js';
import { el, hiddenText, replaceChildren } from './dom.js';
import type { Outbox, Outgoing } from './outbox.js';
import { dayKey, dayName, fullTime, timeOfDay } from './times.js';

/** Messages a page of history asks for. */
const PAGE = 30;
/** How close to the top (px) the history has to be scrolled for the older page to load. */
const NEAR_TOP_PX = 120;

export interface ConversationEvents {
  back(): void;
}

type Shown =
  | { message: Message; outgoing?: undefined }
  | { outgoing: Outgoing; message?: undefined };

export class ConversationView {
  readonly other: User;
  readonly element: HTMLElement;
  readonly #client: MessengerClient;
  readonly #me: User;
  readonly #outbox: Outbox;
  /** The stored messages, oldest first; each id once. */
  readonly #messages: Message[] = [];
  readonly #ids = new Set<string>();
  #hasOlder = false;
  #loadingOlder: Promise<void> | undefined;
  readonly #history: HTMLDivElement;
  readonly #list: HTMLOListElement;
  readonly #older: HTMLButtonElement;
  readonly #input: HTMLTextAreaElement;

  constructor(
    client: MessengerClient,
    me: User,
    other: User,
    outbox: Outbox,
    events: ConversationEvents,
  ) {
    this.#client = client;
    this.#me = me;
    this.other = other;
    this.#outbox = outbox;
    const titleId = `conversation-title-${other.id}`;
    this.#older = el(
      'button',
      {
        class: 'older',
        attrs: { type: 'button', hidden: true },
        on: { click: () => void this.loadOlder() },
      },
      'Load older messages',
    );
    this.#list = el('ol', { class: 'messages', attrs: { 'aria-labelledby': titleId } });
    this.#history = el(
      'div',
      {
        class: 'history',
        // Focusable, so that the keyboard scrolls it; its name says whose it is.
        attrs: { tabindex: '0', role: 'region', 'aria-label': `Messages with ${other.username}` },
        on: { scroll: () => this.#scrolled() },
      },
      this.#older,
      this.#list,
    );
    const inputId = `message-to-${other.id}`;
    this.#input = el('textarea', {
      attrs: {
        id: inputId,
        rows: '1',
        autocomplete: 'off',
        'aria-describedby': 'composer-hint',
        dir: 'auto',
      },
      on: {
        keydown: (event) => {
          // Enter sends, Shift+Enter is a new line; never while an IME is composing a word.
          if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
          event.preventDefault();
          this.#submit();
        },
        input: () => this.#fit(),
      },
    });
    const composer = el(
      'form',
      {
        class: 'composer',
        on: {
          submit: (event) => {
            event.preventDefault();
            this.#submit();
          },
        },
      },
      el(
        'label',
        { class: 'visually-hidden', attrs: { for: inputId } },
        `Message to ${other.username}`,
      ),
      this.#input,
      el('button', { class: 'primary', attrs: { type: 'submit' } }, 'Send'),
      el(
        'p',
        { class: 'visually-hidden', attrs: { id: 'composer-hint' } },
        'Enter sends, Shift+Enter starts a new line.',
      ),
    );
    this.element = el(
      'section',
      { class: 'conversation-pane', attrs: { 'aria-labelledby': titleId } },
      el(
        'header',
        { class: 'pane-header' },
        el(
          'button',
          { class: 'back', attrs: { type: 'button' }, on: { click: () => events.back() } },
          el('span', { attrs: { 'aria-hidden': 'true' } }, '← '),
          'Conversations',
        ),
        el('h2', { attrs: { id: titleId } }, other.username),
      ),
      this.#history,
      composer,
    );
  }

  /** Loads the newest page (and older ones until the history can scroll). */
  async load(): Promise<void> {
    const page = await this.#client.listConversation(this.other.id, { limit: PAGE });
    this.#messages.length = 0;
    this.#ids.clear();
    for (const message of page.messages) this.#keep(message);
    this.#hasOlder = page.hasOlder;
    this.render('bottom');
    while (this.#hasOlder && this.#history.scrollHeight <= this.#history.clientHeight) {
      await this.loadOlder();
    }
  }

  /** Everything stored after the newest shown (after a reconnection: sends from other devices too). */
  async catchUp(): Promise<void> {
    let after = this.#messages.at(-1)?.id;
    if (!after) return this.load();
    for (;;) {
      const page = await this.#client.listConversation(this.other.id, { after, limit: 100 });
      for (const message of page.messages) this.add(message);
      after = page.messages.at(-1)?.id ?? after;
      if (!page.hasNewer || page.messages.length === 0) return;
    }
  }

  /** The page before the oldest message shown. */
  loadOlder(): Promise<void> {
    const oldest = this.#messages[0]?.id;
    if (!this.#hasOlder || !oldest) return Promise.resolve();
    this.#loadingOlder ??= (async () => {
      try {
        const page = await this.#client.listConversation(this.other.id, {
          before: oldest,
          limit: PAGE,
        });
        const older = page.messages.filter((message) => !this.#ids.has(message.id));
        for (const message of older) this.#ids.add(message.id);
        this.#messages.unshift(...older);
        this.#hasOlder = page.hasOlder;
        this.render('keep');
      } finally {
        this.#loadingOlder = undefined;
      }
    })();
    return this.#loadingOlder;
  }

  /** A message of this conversation, stored (live, sent from here or elsewhere): shown once. */
  add(message: Message): void {
    if (this.#ids.has(message.id)) return;
    this.#keep(message);
    this.render('follow');
  }

  /** Whether the newest message is in view (what "read up to the newest" needs). */
  get atBottom(): boolean {
    const { scrollHeight, scrollTop, clientHeight } = this.#history;
    return scrollHeight - scrollTop - clientHeight < 48;
  }

  focusComposer(): void {
    this.#input.focus();
  }

  /**
   * Draws the history: 'bottom' scrolls to the newest, 'keep' keeps what is in view
   * (older messages were put above), 'follow' stays at the newest if it was there.
   */
  render(scroll: 'bottom' | 'keep' | 'follow' = 'follow'): void {
    const history = this.#history;
    const fromBottom = history.scrollHeight - history.scrollTop;
    const wasAtBottom = this.atBottom;
    const shown: Shown[] = [
      ...this.#messages.map((message) => ({ message })),
      ...this.#outbox
        .to(this.other.id)
        .filter((outgoing) => !this.#ids.has(outgoing.id))
        .map((outgoing) => ({ outgoing })),
    ];
    const items: HTMLLIElement[] = [];
    let day = '';
    for (const item of shown) {
      const time = item.message ? item.message.sentAt : item.outgoing.typedAt;
      if (dayKey(time) !== day) {
        day = dayKey(time);
        items.push(el('li', { class: 'day' }, el('span', {}, dayName(time))));
      }
      items.push(item.message ? this.#stored(item.message) : this.#pending(item.outgoing));
    }
    this.#older.hidden = !this.#hasOlder;
    replaceChildren(this.#list, ...items);
    if (scroll === 'keep') history.scrollTop = history.scrollHeight - fromBottom;
    else if (scroll === 'bottom' || wasAtBottom) history.scrollTop = history.scrollHeight;
  }

  #keep(message: Message): void {
    this.#ids.add(message.id);
    // In time order; a message of the same moment goes after the ones already there.
    let at = this.#messages.length;
    while (at > 0 && (this.#messages[at - 1]?.sentAt.getTime() ?? 0) > message.sentAt.getTime())
      at--;
    this.#messages.splice(at, 0, message);
  }

  #stored(message: Message): HTMLLIElement {
    const mine = message.senderId === this.#me.id;
    return el(
      'li',
      {
        class: `message ${mine ? 'mine' : 'theirs'}`,
        attrs: { 'data-id': message.id, 'data-state': 'sent' },
      },
      hiddenText(mine ? 'You: ' : `${this.other.username}: `),
      el('p', { class: 'text', attrs: { dir: 'auto' } }, message.text),
      el(
        'p',
        { class: 'meta' },
        el(
          'time',
          { attrs: { datetime: message.sentAt.toISOString(), title: fullTime(message.sentAt) } },
          timeOfDay(message.sentAt),
        ),
        mine ? el('span', { class: 'state' }, ' · Sent') : null,
      ),
    );
  }

  #pending(outgoing: Outgoing): HTMLLIElement {
    const failed = outgoing.state === 'failed';
    return el(
      'li',
      { class: 'message mine', attrs: { 'data-id': outgoing.id, 'data-state': outgoing.state } },
      hiddenText('You: '),
      el('p', { class: 'text', attrs: { dir: 'auto' } }, outgoing.text),
      el(
        'p',
        { class: 'meta' },
        failed
          ? el('span', { class: 'state failed' }, `Not sent: ${outgoing.why ?? 'refused'}`)
          : el('span', { class: 'state' }, 'Sending…'),
        failed
          ? el(
              'span',
              { class: 'fix' },
              el(
                'button',
                { attrs: { type: 'button' }, on: { click: () => this.#outbox.retry(outgoing.id) } },
                'Retry',
              ),
              el(
                'button',
                {
                  attrs: { type: 'button' },
                  on: { click: () => this.#outbox.discard(outgoing.id) },
                },
                'Discard',
              ),
            )
          : null,
      ),
    );
  }

  #submit(): void {
    const text = this.#input.value;
    if (text.trim() === '') return;
    this.#input.value = '';
    this.#fit();
    this.#outbox.send(this.other, text);
    this.render('bottom');
  }

  /** The box grows with its lines, up to a few (CSS caps it). */
  #fit(): void {
    this.#input.style.height = 'auto';
    this.#input.style.height = `${this.#input.scrollHeight}px`;
  }

  #scrolled(): void {
    if (this.#history.scrollTop < NEAR_TOP_PX) void this.loadOlder().catch(() => {});
  }
}
