/**
 * The chat's behaviour, apart from the terminal: what a typed line does, what an arriving
 * message shows. It talks to a ChatScreen, so that a terminal, a pipe or a test can drive it.
 * @module
 */
import {
  MAX_PAGE_LIMIT,
  type Message,
  MessengerError,
  newMessageId,
  type User,
} from '../../index.js';
import { INVOCATION } from '../globals.js';
import { type Live, type Messenger, mayStillBeSent } from '../messenger.js';
import { formatTime, type Output, preview, printable, shellWord } from '../output.js';
import { NameBook, resolveUser } from '../people.js';
import { messageLine } from '../present.js';
import { onRedis } from '../what-is-live.js';

/** A message typed in the chat, on its way to Redis (or the server). */
interface Outgoing {
  to: User;
  text: string;
  /** Chosen when it was typed: every attempt sends the same id, so it is stored once. */
  messageId: string;
  /** Whether an attempt already failed unconfirmed (the next waits before it tries). */
  tried: boolean;
}

export interface ChatScreen {
  /** Prints a line above the line being typed, leaving what the person typed alone. */
  print(line: string): void;
  /** Sets the text before the cursor, e.g. "to bob> ". */
  setPrompt(prompt: string): void;
}

const HELP = [
  '/to <name>      open a conversation (shows its recent messages, marks them seen)',
  '<text>          send to the open conversation (start it with // to send a leading /)',
  '/history [n]    the last n messages of the open conversation (default 20)',
  '/users          everyone on this messenger',
  '/contacts       your contacts',
  '/add <name>     add a contact',
  '/unread         unread counts per person',
  '/help           this list',
  '/quit           leave (/exit, Ctrl-C and Ctrl-D too)',
];

export class ChatSession {
  readonly #messenger: Messenger;
  readonly #me: User;
  readonly #screen: ChatScreen;
  readonly #output: Output;
  readonly #names: NameBook;
  #subscription: Live | undefined;
  #peer: User | undefined;
  /** While /to reads a conversation's history: what arrives from that person meanwhile. */
  #opening: { peerId: string; arrived: Message[] } | undefined;
  /**
   * Messages typed and not confirmed by Redis yet, in the order they were typed. The first
   * is being sent (retried with its id while Redis does not answer); the others wait
   * behind it, so that messages are stored in the order they were typed.
   */
  readonly #outbox: Outgoing[] = [];
  /** The background sending of #outbox, while it has messages; `stop` ends it early. */
  #sending: { done: Promise<void>; stop(): void } | undefined;
  /** How many typed lines failed: a scripted chat then exits non-zero. */
  #failures = 0;
  /** Repeated in the command that resends a message (the person's --redis, --namespace). */
  readonly #redisFlag: string;
  /** `Redis` or `the server`: what the chat's notices say it waits for. */
  readonly #where: string;
  readonly #onEnded: (() => void) | undefined;
  #endedBy: Error | undefined;

  constructor(
    messenger: Messenger,
    me: User,
    screen: ChatScreen,
    output: Output,
    options: {
      redisFlag?: string;
      /** `Redis` (the default) or `the server`. */
      where?: string;
      /** Live delivery ended for good (a server's session ended): the chat should stop. */
      onEnded?: () => void;
    } = {},
  ) {
    this.#messenger = messenger;
    this.#me = me;
    this.#screen = screen;
    this.#output = output;
    this.#names = new NameBook(messenger, [me]);
    this.#redisFlag = options.redisFlag ?? '';
    this.#where = options.where ?? 'Redis';
    this.#onEnded = options.onEnded;
  }

  /** Why live delivery ended for good (the session ended), if it did. */
  get endedBy(): Error | undefined {
    return this.#endedBy;
  }

  /** How many typed lines failed so far (a command refused, a message not sent). */
  get failures(): number {
    return this.#failures;
  }

  /** Starts live delivery, then greets and shows unread counts and recent conversations. */
  async start(): Promise<void> {
    const { bold, dim } = this.#output.colors;
    const me = this.#me;
    // Subscribed first: whatever arrives while the greeting is read shows as a notice,
    // rather than falling between the counts and the live feed.
    this.#subscription = await this.#messenger.subscribe(
      me.id,
      (message) => this.#arrived(message),
      {
        // Said a moment later: a connection lost because the session ended is not
        // "reconnecting" (onEnded comes just after the drop).
        // `why` 'paused': through a server that lost Redis (the connection holds).
        onConnectionChange: (connected, why?: 'paused') =>
          setImmediate(() => {
            if (this.#endedBy) return;
            this.#screen.print(
              connected
                ? `Reconnected to ${this.#where}; caught up.`
                : why === 'paused'
                  ? `${this.#where.charAt(0).toUpperCase()}${this.#where.slice(1)} cannot reach Redis now; new messages will come once it is back…`
                  : `Lost the connection to ${this.#where}; reconnecting…`,
            );
          }),
        onError: () => {}, // reconnects and retries on its own; the connection notice says enough
        // Only a server says it: it could not prove nothing was missed.
        onReset: () =>
          this.#screen.print(
            this.#output.colors.yellow(
              'Some messages may have come while disconnected that are not shown here: /unread and /history show them.',
            ),
          ),
        onEnded: (why) => {
          this.#endedBy = why;
          this.#onEnded?.();
        },
      },
    );
    this.#screen.print(
      `You are ${bold(printable(me.username))}. ${dim('/help lists the commands.')}`,
    );
    await this.#showUnread(false);
    const conversations = await this.#messenger.listConversations(me.id, { limit: 10 });
    if (conversations.length > 0) this.#screen.print('Conversations:');
    for (const c of conversations) {
      this.#names.remember(c.with);
      const when = c.lastMessage ? `  ${dim(formatTime(c.lastMessage.sentAt))}` : '';
      const unread = c.unread > 0 ? `  ${bold(`${c.unread} unread`)}` : '';
      this.#screen.print(`  ${printable(c.with.username)}${when}${unread}`);
    }
    this.#screen.setPrompt('> ');
  }

  /**
   * Stops live delivery. A message still unconfirmed gets a few more seconds; if Redis has
   * not taken it by then, it is reported as not sent (and close() rejects), never dropped
   * in silence.
   */
  async close(): Promise<void> {
    const sending = this.#sending;
    if (sending) {
      const to = [...new Set(this.#outbox.map((m) => printable(m.to.username)))].join(', ');
      const what = this.#outbox.length === 1 ? 'your message' : 'your messages';
      this.#screen.print(`Waiting for ${this.#where} to confirm ${what} to ${to}…`);
      await Promise.race([sending.done, new Promise((resolve) => setTimeout(resolve, 3000))]);
      sending.stop();
    }
    await this.#subscription?.close();
    const lost = this.#outbox;
    if (lost.length > 0) {
      // Each with the command that sends it again: with its id, it is stored once whatever
      // happened to the first attempt.
      const resend = lost
        .map(
          (m) =>
            `${INVOCATION} send ${shellWord(printable(this.#me.username))} ${shellWord(printable(m.to.username))} ${shellWord(printable(m.text))} --id ${m.messageId}${this.#redisFlag}`,
        )
        .join(' && ');
      const [first] = lost;
      const what =
        lost.length === 1 && first
          ? `your message to ${printable(first.to.username)} was not confirmed by ${this.#where} and may not have been sent: "${preview(first.text, 60)}" (id ${first.messageId})`
          : `${lost.length} of your messages were not confirmed by ${this.#where} and may not have been sent: ${lost.map((m) => `"${preview(m.text, 30)}" to ${printable(m.to.username)}`).join(', ')}`;
      throw new MessengerError(
        `${what}; to send ${lost.length === 1 ? 'it' : 'them'} again, stored once: ${resend}`,
      );
    }
  }

  /** Acts on one typed line. Returns 'quit' when the person wants to leave. */
  async handle(line: string): Promise<'quit' | undefined> {
    const text = line.trim();
    if (text === '') return undefined;
    const failuresBefore = this.#failures;
    try {
      if (!text.startsWith('/') || text.startsWith('//')) {
        await this.#send(text.startsWith('//') ? line.replace('/', '') : line);
        return undefined;
      }
      const [command = '', ...rest] = text.split(/\s+/);
      const argument = text.slice(command.length).trim();
      switch (command) {
        case '/quit':
        case '/exit':
          return 'quit';
        case '/help':
          for (const helpLine of HELP) this.#screen.print(helpLine);
          break;
        case '/to':
          await this.#open(argument);
          break;
        case '/history':
          await this.#history(rest[0]);
          break;
        case '/users':
          await this.#users();
          break;
        case '/contacts':
          await this.#contacts();
          break;
        case '/add':
          await this.#add(argument);
          break;
        case '/unread':
          await this.#showUnread(true);
          break;
        default:
          this.#refuse(`Unknown command ${printable(command)}; /help lists the commands.`);
      }
    } catch (error) {
      if (this.#failures === failuresBefore) this.#failures += 1;
      this.#screen.print(
        this.#output.colors.red(`${error instanceof Error ? error.message : String(error)}`),
      );
    }
    return undefined;
  }

  /** Says why a typed line did nothing; it counts as a failed line. */
  #refuse(why: string): void {
    this.#failures += 1;
    this.#screen.print(why);
  }

  async #arrived(message: Message): Promise<void> {
    // A name that cannot be read now shows as the id: the message itself must not be lost.
    await this.#names.learn([message.senderId]).catch(() => {});
    if (this.#opening?.peerId === message.senderId) {
      this.#opening.arrived.push(message); // shown by #open, after the history
      return;
    }
    if (this.#peer && message.senderId === this.#peer.id) {
      this.#screen.print(
        messageLine({ ...message, seen: true }, this.#names, this.#output, this.#me.id),
      );
      await this.#messenger.markSeen(this.#me.id, [message.id]).catch(() => {});
      return;
    }
    this.#notice(message);
  }

  /** A one-line notice for a message from someone other than the open conversation. */
  #notice(message: Message): void {
    const sender = printable(this.#names.name(message.senderId));
    this.#screen.print(
      this.#output.colors.yellow(
        `New message from ${sender}: ${preview(message.text, 80)}  (/to ${sender} to reply)`,
      ),
    );
  }

  async #send(text: string): Promise<void> {
    const peer = this.#peer;
    if (!peer) {
      this.#refuse('Open a conversation first: /to <name>');
      return;
    }
    // The id is chosen here, so that a send whose fate is unknown (Redis did not answer)
    // can be retried without ever storing the message twice.
    const message: Outgoing = { to: peer, text, messageId: newMessageId(), tried: false };
    if (this.#outbox.length > 0) {
      // Sending now could store this one before an unconfirmed one: it waits its turn.
      this.#outbox.push(message);
      this.#screen.print(
        this.#output.colors.yellow(
          `Pending: "${preview(text, 60)}" is sent once your earlier message is confirmed (${this.#outbox.length - 1} ahead of it).`,
        ),
      );
      return;
    }
    try {
      await this.#deliver(message);
      this.#showSent(message);
    } catch (error) {
      if (!mayStillBeSent(error)) throw new Error(`Not sent: ${(error as Error).message}`);
      this.#notConfirmed(message, error);
      this.#outbox.push(message);
      this.#sendOutbox();
    }
  }

  #deliver(message: Outgoing): Promise<string> {
    const { to, text, messageId } = message;
    return this.#messenger.sendMessage(this.#me.id, to.id, text, { messageId });
  }

  #notConfirmed(message: Outgoing, error: unknown): void {
    message.tried = true;
    this.#screen.print(
      this.#output.colors.yellow(
        `Not confirmed yet (${(error as Error).message}); retrying until ${this.#where} answers, and it is stored once.`,
      ),
    );
  }

  /** Shows a message this user sent: in the conversation if it is open, else as a notice. */
  #showSent({ to, messageId, text }: Outgoing): void {
    if (this.#peer?.id === to.id) {
      const sent = {
        id: messageId,
        senderId: this.#me.id,
        receiverId: to.id,
        text,
        sentAt: new Date(),
        seen: false,
      };
      this.#screen.print(messageLine(sent, this.#names, this.#output, this.#me.id));
    } else {
      this.#screen.print(`Sent to ${printable(to.username)}: ${preview(text, 60)}`);
    }
  }

  /**
   * Sends the outbox in the background, in order: the first message is retried with its
   * id (backing off up to 5 s) until Redis takes it or refuses it, then the next.
   */
  #sendOutbox(): void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let wake: () => void = () => {};
    const done = (async () => {
      let delay = 500;
      for (let message = this.#outbox[0]; message && !stopped; message = this.#outbox[0]) {
        if (message.tried) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, delay);
          });
          if (stopped) return;
        }
        try {
          await this.#deliver(message);
          this.#outbox.shift();
          this.#showSent(message);
          delay = 500;
        } catch (error) {
          if (mayStillBeSent(error)) {
            if (!message.tried) this.#notConfirmed(message, error);
            delay = Math.min(delay * 2, 5000);
            continue;
          }
          this.#outbox.shift();
          this.#failures += 1;
          this.#screen.print(this.#output.colors.red(`Not sent: ${(error as Error).message}`));
        }
      }
    })().finally(() => {
      if (this.#sending?.done === done) this.#sending = undefined;
    });
    this.#sending = {
      done,
      stop: () => {
        stopped = true;
        clearTimeout(timer);
        wake();
      },
    };
  }

  async #open(name: string): Promise<void> {
    if (name === '') {
      this.#refuse('Whom to? /to <name>');
      return;
    }
    const peer = await resolveUser(this.#messenger, name);
    if (peer.id === this.#me.id) {
      this.#refuse('That is you; pick someone else.');
      return;
    }
    this.#names.remember(peer);
    this.#screen.print(
      this.#output.colors.bold(`— conversation with ${printable(peer.username)} —`),
    );
    // Messages from them that arrive while the history is read are held back, then shown
    // unless the history already had them: neither lost nor shown twice.
    this.#opening = { peerId: peer.id, arrived: [] };
    let shownIds: Set<string> | undefined;
    try {
      shownIds = await this.#showHistory(peer, 20);
      await this.#messenger.markConversationSeen(this.#me.id, peer.id);
      // Only now, with the history shown: a failed /to leaves the old conversation open.
      this.#peer = peer;
      this.#screen.setPrompt(`to ${printable(peer.username)}> `);
    } finally {
      const arrived = this.#opening?.arrived ?? [];
      this.#opening = undefined;
      for (const message of arrived) {
        if (shownIds?.has(message.id)) continue;
        if (this.#peer?.id === peer.id) {
          // Seen as it is shown, as a message arriving in the open conversation is.
          this.#screen.print(
            messageLine({ ...message, seen: true }, this.#names, this.#output, this.#me.id),
          );
          await this.#messenger.markSeen(this.#me.id, [message.id]).catch(() => {});
        } else {
          this.#notice(message);
        }
      }
    }
  }

  async #history(count: string | undefined): Promise<void> {
    if (!this.#peer) {
      this.#refuse('Open a conversation first: /to <name>');
      return;
    }
    const limit = count === undefined ? 20 : /^\d+$/.test(count) ? Number(count) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE_LIMIT)) {
      this.#refuse(`/history takes a whole number from 1 to ${MAX_PAGE_LIMIT}`);
      return;
    }
    await this.#showHistory(this.#peer, limit);
  }

  /** Prints the last `limit` messages with `peer`; returns their ids. */
  async #showHistory(peer: User, limit: number): Promise<Set<string>> {
    const page = await this.#messenger.listConversation(this.#me.id, peer.id, { limit });
    if (page.messages.length === 0) {
      for (const line of await this.#emptyConversation(peer)) this.#screen.print(line);
    }
    for (const message of page.messages) {
      this.#screen.print(messageLine(message, this.#names, this.#output, this.#me.id));
    }
    return new Set(page.messages.map((m) => m.id));
  }

  /**
   * Why a conversation shows nothing: it is new, or its messages were written by another
   * program (the original), which fills no conversation index, and `reindex` would show
   * them; then also what live delivery covers, when the original's messages are not
   * live here. Reads the newest page of both inboxes, on Redis directly only.
   */
  async #emptyConversation(peer: User): Promise<string[]> {
    const empty = ['No messages yet. Say hello!'];
    const direct = onRedis(this.#messenger);
    if (!direct) return empty;
    const me = this.#me.id;
    const [mine, theirs] = await Promise.all([
      direct.listUserMessages(me, { limit: 200 }),
      direct.listUserMessages(peer.id, { limit: 200 }),
    ]);
    const between =
      mine.messages.filter((m) => m.senderId === peer.id).length +
      theirs.messages.filter((m) => m.senderId === me).length;
    if (between === 0) return empty;
    const count = mine.hasOlder || theirs.hasOlder ? `at least ${between}` : String(between);
    const hint = `No messages in this conversation yet, but your inboxes hold ${count} between you that another program wrote: ${INVOCATION} reindex${this.#redisFlag} shows them here.`;
    const coverage = await direct.liveCoverage();
    const notLive = ['off', 'unknown'].includes(coverage.keyspaceNotifications);
    return notLive ? [hint, coverage.summary] : [hint];
  }

  async #users(): Promise<void> {
    const { users, hasMore } = await this.#messenger.listAllUsers({ limit: 100 });
    const names = users.map((u) =>
      u.id === this.#me.id ? `${printable(u.username)} (you)` : printable(u.username),
    );
    this.#screen.print(`Users: ${names.join(', ')}${hasMore ? ', …' : ''}`);
  }

  async #contacts(): Promise<void> {
    const contacts = await this.#messenger.listContacts(this.#me.id);
    this.#screen.print(
      contacts.length === 0
        ? 'No contacts yet: /add <name>'
        : `Contacts: ${contacts.map((c) => printable(c.username)).join(', ')}`,
    );
  }

  async #add(name: string): Promise<void> {
    if (name === '') {
      this.#refuse('Add whom? /add <name>');
      return;
    }
    const contact = await resolveUser(this.#messenger, name);
    const added = await this.#messenger.addContact(this.#me.id, contact.id);
    this.#screen.print(
      added
        ? `Added ${printable(contact.username)}.`
        : `${printable(contact.username)} already is a contact.`,
    );
  }

  async #showUnread(always: boolean): Promise<void> {
    const { total, bySender } = await this.#messenger.unreadCount(this.#me.id);
    if (total === 0) {
      if (always) this.#screen.print('No unread messages.');
      return;
    }
    await this.#names.learn(Object.keys(bySender));
    for (const [sender, count] of Object.entries(bySender).sort((a, b) => b[1] - a[1])) {
      this.#screen.print(`${count} unread from ${printable(this.#names.name(sender))}`);
    }
  }
}
