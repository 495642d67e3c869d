/**
 * The signed-in page: the conversation list, the open conversation, the live channel
 * that keeps both current, and what the page tells of it (banner, notices, title).
 * Every call goes through the client module (src/client): the routes, the live protocol,
 * resuming by cursor and retrying sends are known there, not here.
 * @module
 */
import { type LiveSubscription, type MessengerClient, SessionEndedError } from '../client/index.js';
import type { ConversationSummary, Message, User } from '../index.js';
import { ConversationView } from './conversation.js';
import { renderConversationList } from './conversation-list.js';
import { el, replaceChildren } from './dom.js';
import { Outbox } from './outbox.js';
import { peopleSearch } from './people-search.js';
import { sessionsDialog } from './sessions.js';
import { announce, ConnectionBanner, Notices, showUnreadInTitle } from './status.js';

/** How long to wait between tries to go live again once the browser is back online. */
const RELIVE_EVERY_MS = 2000;

export class Chat {
  readonly #client: MessengerClient;
  readonly #me: User;
  readonly #ended: (notice?: string) => void;
  readonly #users = new Map<string, User>();
  /** By the other user's id. */
  readonly #conversations = new Map<string, ConversationSummary>();
  /** Received messages handled, so that a replay overlapping what came live shows nothing twice. */
  readonly #received = new Set<string>();
  /**
   * Where the next live channel goes on: after the newest message at the start (from the
   * first, when the inbox was empty), then where the last channel stood when it closed.
   */
  #resume: { after?: string; fromFirst?: true } = {};
  #live: LiveSubscription | undefined;
  /** Going live again after the browser came back online is under way. */
  #reliving = false;
  #view: ConversationView | undefined;
  #stopped = false;
  readonly #outbox: Outbox;
  readonly #banner = new ConnectionBanner();
  readonly #notices = new Notices();
  readonly #list = el('ul', {
    class: 'conversations',
    attrs: { 'aria-labelledby': 'conversations-title' },
  });
  readonly #pane = el('main', { class: 'pane', attrs: { 'aria-label': 'Conversation' } });
  readonly #layout: HTMLElement;
  readonly #listeners: [string, EventListener][];

  private constructor(client: MessengerClient, me: User, ended: (notice?: string) => void) {
    this.#client = client;
    this.#me = me;
    this.#ended = ended;
    this.#outbox = new Outbox(client, {
      changed: () => this.#view?.render(),
      stored: (message) => this.#sent(message),
      sessionEnded: () => this.#sessionEnded(),
    });
    const sessions = sessionsDialog(client);
    this.#layout = el(
      'div',
      { class: 'chat', attrs: { 'data-view': 'list' } },
      el(
        'header',
        { class: 'top' },
        el('h1', {}, 'Messenger'),
        el('span', { class: 'me' }, 'Signed in as ', el('strong', {}, me.username)),
        el(
          'button',
          { attrs: { type: 'button' }, on: { click: () => sessions.open() } },
          'Sessions',
        ),
        el(
          'button',
          { attrs: { type: 'button' }, on: { click: () => void this.#logOut() } },
          'Log out',
        ),
      ),
      this.#banner.element,
      el(
        'div',
        { class: 'columns' },
        el(
          'nav',
          { class: 'sidebar', attrs: { 'aria-label': 'Conversations' } },
          peopleSearch(client, me, (user) => void this.#start(user)),
          el('h2', { attrs: { id: 'conversations-title' } }, 'Conversations'),
          this.#list,
        ),
        this.#pane,
      ),
      el(
        'aside',
        { class: 'notice-area', attrs: { 'aria-label': 'Notices' } },
        this.#notices.element,
      ),
      sessions.dialog,
    );
    this.#listeners = [
      ['offline', () => this.#offline()],
      ['online', () => void this.#online()],
      ['visibilitychange', () => this.#readIfVisible()],
    ];
  }

  /** Shows the signed-in page in `root` and goes live; `ended` runs when the session ends. */
  static async start(
    root: HTMLElement,
    client: MessengerClient,
    me: User,
    ended: (notice?: string) => void,
  ): Promise<Chat> {
    const chat = new Chat(client, me, ended);
    await chat.#loadConversations();
    const newest = (await client.listUserMessages({ limit: 1 })).messages.at(-1)?.id;
    // An empty inbox: whatever reaches it before the channel is up is new, and delivered.
    chat.#resume = newest ? { after: newest } : { fromFirst: true };
    replaceChildren(root, chat.#layout);
    chat.#showPlaceholder();
    chat.#redraw();
    for (const [type, listener] of chat.#listeners) {
      (type === 'visibilitychange' ? document : window).addEventListener(type, listener);
    }
    await chat.#goLive();
    return chat;
  }

  /** Leaves the page: the live channel closes, nothing more is drawn. */
  stop(): void {
    this.#stopped = true;
    for (const [type, listener] of this.#listeners) {
      (type === 'visibilitychange' ? document : window).removeEventListener(type, listener);
    }
    void this.#live?.close();
    this.#live = undefined;
  }

  // ---- the live channel ----------------------------------------------------------------

  async #goLive(): Promise<void> {
    // The server replays from there before it pushes: nothing between two channels is missed.
    const live = await this.#client.subscribe((message) => this.#receive(message), {
      ...this.#resume,
      onSent: (message) => this.#sent(message),
      onSeen: () => this.#refreshUnread(),
      onReset: () => this.#refresh(),
      onConnectionChange: (connected, why) => {
        if (!connected) return this.#banner.lost(why === 'paused');
        this.#banner.back();
        void this.#refresh();
      },
    });
    if (this.#stopped) return void live.close();
    this.#live = live;
    void live.ended.then((why) => {
      if (why instanceof SessionEndedError) this.#sessionEnded();
    });
  }

  /** The browser says the network is gone: the socket is too, whatever it still believes. */
  #offline(): void {
    this.#banner.lost();
    // `{}` only before a channel was ready, which a kept one always was.
    const resume = this.#live?.resume;
    if (resume?.after !== undefined || resume?.fromFirst) this.#resume = resume;
    void this.#live?.close();
    this.#live = undefined;
  }

  /** Back online: resume from the cursor at once rather than at the next backoff. */
  async #online(): Promise<void> {
    if (this.#reliving) return; // one way back at a time, however many events say online
    this.#reliving = true;
    try {
      while (!this.#stopped && !this.#live && navigator.onLine) {
        try {
          await this.#goLive();
          this.#banner.back();
          await this.#refresh();
          return;
        } catch (error) {
          if (error instanceof SessionEndedError) return this.#sessionEnded();
          await new Promise((resolve) => setTimeout(resolve, RELIVE_EVERY_MS));
        }
      }
    } finally {
      this.#reliving = false;
    }
  }

  // ---- what comes in -------------------------------------------------------------------

  /** A message the user received (live, a replay, or a catch-up): shown once. */
  async #receive(message: Message): Promise<void> {
    if (this.#received.has(message.id)) return;
    this.#received.add(message.id);
    const from = await this.#user(message.senderId);
    const summary = this.#summary(from);
    if (!summary.lastMessage || summary.lastMessage.sentAt <= message.sentAt)
      summary.lastMessage = message;
    const open = this.#view?.other.id === from.id;
    if (open) this.#view?.add(message);
    if (open && document.visibilityState === 'visible') void this.#markRead(from.id);
    else if (!message.seen) summary.unread += 1;
    if (!open) this.#notices.show(from.username, message.text, () => void this.#open(from.id));
    announce(`New message from ${from.username}: ${message.text}`);
    this.#redraw();
  }

  /** A message the user sent, from this page or another device. */
  async #sent(message: Message): Promise<void> {
    const to = await this.#user(message.receiverId);
    const summary = this.#summary(to);
    if (!summary.lastMessage || summary.lastMessage.sentAt <= message.sentAt)
      summary.lastMessage = message;
    if (this.#view?.other.id === to.id) this.#view.add(message);
    this.#redraw();
  }

  /** Messages were marked seen (here or on another device): the server has the counts. */
  async #refreshUnread(): Promise<void> {
    const unread = await this.#client.unreadCount();
    for (const summary of this.#conversations.values())
      summary.unread = unread.bySender[summary.with.id] ?? 0;
    this.#redraw();
  }

  /** After a reconnection or a reset: the list and the open conversation as the server has them. */
  async #refresh(): Promise<void> {
    try {
      await this.#loadConversations();
      await this.#view?.catchUp();
      this.#redraw();
      this.#readIfVisible();
    } catch (error) {
      if (error instanceof SessionEndedError) this.#sessionEnded();
    }
  }

  // ---- conversations -------------------------------------------------------------------

  async #loadConversations(): Promise<void> {
    const conversations = await this.#client.listConversations({ limit: 100 });
    for (const summary of conversations) {
      this.#users.set(summary.with.id, summary.with);
      this.#conversations.set(summary.with.id, summary);
    }
  }

  #summary(other: User): ConversationSummary {
    let summary = this.#conversations.get(other.id);
    if (!summary) {
      summary = { with: other, lastMessage: null, unread: 0 };
      this.#conversations.set(other.id, summary);
    }
    return summary;
  }

  async #user(id: string): Promise<User> {
    let user = this.#users.get(id);
    if (!user) {
      user = (await this.#client.getUser(id)) ?? {
        id,
        username: 'someone',
        createdAt: new Date(0),
      };
      this.#users.set(id, user);
    }
    return user;
  }

  /** From the directory search: the conversation with `user`, new or not. */
  async #start(user: User): Promise<void> {
    this.#users.set(user.id, user);
    this.#summary(user);
    await this.#open(user.id);
  }

  async #open(userId: string): Promise<void> {
    const other = await this.#user(userId);
    const view = new ConversationView(this.#client, this.#me, other, this.#outbox, {
      back: () => this.#close(),
    });
    this.#view = view;
    replaceChildren(this.#pane, view.element);
    this.#layout.dataset.view = 'conversation';
    this.#notices.clear(other.username);
    this.#redraw();
    try {
      await view.load();
    } catch (error) {
      if (error instanceof SessionEndedError) return this.#sessionEnded();
      throw error;
    }
    if (this.#view !== view) return;
    this.#readIfVisible();
    view.focusComposer();
  }

  #close(): void {
    const was = this.#view?.other.username;
    this.#view = undefined;
    this.#layout.dataset.view = 'list';
    this.#showPlaceholder();
    this.#redraw();
    if (was)
      this.#list.querySelector<HTMLButtonElement>(`[data-user="${CSS.escape(was)}"]`)?.focus();
  }

  #showPlaceholder(): void {
    replaceChildren(
      this.#pane,
      el(
        'div',
        { class: 'placeholder' },
        el('p', {}, 'Choose a conversation, or find someone to talk to.'),
      ),
    );
  }

  /** The open conversation, in a visible tab, is read up to the newest. */
  #readIfVisible(): void {
    const view = this.#view;
    if (!view || document.visibilityState !== 'visible') return;
    const summary = this.#conversations.get(view.other.id);
    if (summary && summary.unread > 0) void this.#markRead(view.other.id);
  }

  async #markRead(userId: string): Promise<void> {
    const summary = this.#conversations.get(userId);
    if (summary) summary.unread = 0;
    this.#redraw();
    try {
      await this.#client.markConversationSeen(userId);
    } catch (error) {
      if (error instanceof SessionEndedError) this.#sessionEnded();
    }
  }

  #redraw(): void {
    if (this.#stopped) return;
    const summaries = [...this.#conversations.values()];
    renderConversationList(
      this.#list,
      summaries,
      this.#view?.other.id,
      this.#me.id,
      (id) => void this.#open(id),
    );
    showUnreadInTitle(summaries.reduce((total, summary) => total + summary.unread, 0));
  }

  // ---- the session ---------------------------------------------------------------------

  async #logOut(): Promise<void> {
    this.stop();
    try {
      await this.#client.logout();
    } catch {
      // Gone already (ended elsewhere): signed out either way.
    }
    this.#ended('You are logged out.');
  }

  #sessionEnded(): void {
    if (this.#stopped) return;
    this.stop();
    this.#ended('Your session has ended: log in again.');
  }
}
