/** Times and days as people read them, in the browser's language and time zone. */

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const shortDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const longDate = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
});
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

/** The local calendar day of a time, as a key ("2026-12-01"). */
export function dayKey(time: Date): string {
  return `${time.getFullYear()}-${time.getMonth() + 1}-${time.getDate()}`;
}

/** A message's time: the clock (the day is in the separator above it). */
export function timeOfDay(time: Date): string {
  return clock.format(time);
}

/** A time in full, for a tooltip or a screen reader. */
export function fullTime(time: Date): string {
  return full.format(time);
}

/** A day separator's words: Today, Yesterday, or the date. */
export function dayName(time: Date, now = new Date()): string {
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(time) === dayKey(now)) return 'Today';
  if (dayKey(time) === dayKey(yesterday)) return 'Yesterday';
  return longDate.format(time);
}

/** The conversation list's time: the clock today, the date before. */
export function listTime(time: Date, now = new Date()): string {
  return dayKey(time) === dayKey(now) ? clock.format(time) : shortDate.format(time);
}
