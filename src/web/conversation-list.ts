/** The conversation list: most recent first, with the last message's preview, its time and the unread count. */
import type { ConversationSummary } from '../index.js';
import { el, hiddenText, replaceChildren } from './dom.js';
import { fullTime, listTime } from './times.js';

/** Most recent first; conversations with no message yet (just started) on top. */
export function byRecency(a: ConversationSummary, b: ConversationSummary): number {
  const at = (summary: ConversationSummary) =>
    summary.lastMessage?.sentAt.getTime() ?? Number.MAX_SAFE_INTEGER;
  return at(b) - at(a);
}

/** Renders the list into `list` (a <ul>); `open` is called with the other user's id. */
export function renderConversationList(
  list: HTMLUListElement,
  conversations: ConversationSummary[],
  openId: string | undefined,
  meId: string,
  open: (userId: string) => void,
): void {
  const items = [...conversations].sort(byRecency).map((summary) => {
    const last = summary.lastMessage;
    const preview = last
      ? `${last.senderId === meId ? 'You: ' : ''}${oneLine(last.text)}`
      : 'No messages yet';
    return el(
      'li',
      {},
      el(
        'button',
        {
          class: 'conversation',
          attrs: {
            type: 'button',
            'data-user': summary.with.username,
            'aria-current': summary.with.id === openId ? 'true' : undefined,
          },
          on: { click: () => open(summary.with.id) },
        },
        el('span', { class: 'name' }, summary.with.username),
        last
          ? el(
              'time',
              {
                class: 'time',
                attrs: { datetime: last.sentAt.toISOString(), title: fullTime(last.sentAt) },
              },
              listTime(last.sentAt),
            )
          : null,
        el('span', { class: 'preview', attrs: { dir: 'auto' } }, preview),
        summary.unread > 0
          ? el('span', { class: 'badge' }, String(summary.unread), hiddenText(' unread'))
          : null,
      ),
    );
  });
  if (items.length === 0)
    items.push(el('li', { class: 'empty' }, 'No conversations yet: find someone above.'));
  replaceChildren(list, ...items);
}

/** A preview on one line, cut short (the CSS ellipsis does the rest). */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 120 ? `${line.slice(0, 120)}…` : line;
}
