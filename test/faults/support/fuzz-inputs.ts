import { inspect } from 'node:util';

/**
 * Generators of hostile inputs for the fuzz test, all driven by one seeded PRNG so that
 * a failing run replays from its seed: strings (unicode, control characters, lone
 * surrogates, key-like characters, huge ones), ids, cursors, limits, and values of the
 * wrong type altogether.
 */

/** Strings of about 1 MB are costly: only this many are made in one run. */
const HUGE_BUDGET = 6;

export class Inputs {
  readonly #random: () => number;
  #huge = 0;
  /** Ids that exist (users, messages), so that some inputs reach deep into the code. */
  readonly userIds: string[] = [];
  readonly messageIds: string[] = [];
  readonly usernames: string[] = [];

  constructor(random: () => number) {
    this.#random = random;
  }

  get hugeMade(): number {
    return this.#huge;
  }

  chance(p: number): boolean {
    return this.#random() < p;
  }

  int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)] as T;
  }

  #codePoint(): string {
    const ranges: [number, number][] = [
      [0x20, 0x7e], // ASCII
      [0x00, 0x1f], // C0 controls
      [0x7f, 0x9f], // DEL, C1 controls
      [0xa0, 0x24f], // Latin-1, Latin extended
      [0x300, 0x36f], // combining marks
      [0x370, 0x3ff], // Greek (final sigma)
      [0x590, 0x6ff], // Hebrew, Arabic (RTL)
      [0x200b, 0x200f], // zero width, LRM/RLM
      [0x2028, 0x202e], // line/paragraph separators, bidi embeddings and overrides
      [0x2066, 0x2069], // bidi isolates
      [0x3000, 0x303f], // CJK punctuation, ideographic space
      [0x4e00, 0x4e80], // CJK
      [0xfb00, 0xfb06], // ligatures (ﬁ)
      [0xfe00, 0xfe0f], // variation selectors
      [0xfeff, 0xfeff], // BOM
      [0xff01, 0xff5e], // full width
      [0xfff0, 0xffff], // specials, non-characters
      [0x1d400, 0x1d4ff], // mathematical letters (NFKC folds them)
      [0x1f300, 0x1faff], // emoji
      [0xe0000, 0xe007f], // tags
      [0x10fff0, 0x10ffff], // the very end
    ];
    const [low, high] = this.pick(ranges);
    return String.fromCodePoint(low + this.int(high - low + 1));
  }

  /** A short string of one flavour. */
  #piece(): string {
    switch (this.int(14)) {
      case 0:
        return Array.from({ length: 1 + this.int(12) }, () =>
          String.fromCharCode(0x61 + this.int(26)),
        ).join('');
      case 1:
        return Array.from({ length: 1 + this.int(20) }, () => this.#codePoint()).join('');
      case 2:
        return this.pick(['\uD800', '\uDBFF', '\uDC00', '\uDFFF', 'a\uD83D', '\uDE00b']);
      case 3:
        return Array.from({ length: 1 + this.int(8) }, () =>
          this.pick(['*', '?', '[', ']', '{', '}', ':', '\\', '^', '-', '!', '%']),
        ).join('');
      case 4:
        return this.pick([
          'user:*',
          'message:*',
          '{tag}',
          'user_messages:',
          'usernames',
          '*',
          '?',
          '[a-z]*',
          '\\*',
          '__proto__',
          'constructor',
          'toString',
          'hasOwnProperty',
          '../../etc/passwd',
          '%s%n',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a template placeholder as input
          '${x}',
          '<script>alert(1)</script>',
          "'; DROP TABLE users; --",
          'FLUSHALL',
          '\r\nFLUSHALL\r\n',
          '*1\r\n$8\r\nFLUSHALL\r\n',
          'null',
          'undefined',
          'NaN',
          'true',
        ]);
      case 5:
        return this.pick(['0', '-1', '1', '1.5', '1e309', '-0', 'Infinity', '1000', '1001', '٣']);
      case 6:
        return this.pick([' ', '  a', 'a ', '\u00a0x', 'x\u3000', '\t', '\n', '\r\n', '']);
      case 7:
        return String.fromCharCode(this.int(0x20));
      case 8:
        return this.pick(['Straße', 'STRAẞE', 'İstanbul', 'ı', 'ﬁ', 'Σίσυφος', 'ǅ', 'K', 'Å']);
      case 9:
        return this.pick(['\u202Eevil', 'a\u200Bb', '\uFEFFbom', 'e\u0301', '\u0000', 'a\u0085b']);
      case 10:
        return this.uuidish();
      case 11:
        return this.pick(['😀', '👩‍👩‍👧‍👦', '🇫🇷', '\u{1F3FB}', '𝐀𝐥𝐢𝐜𝐞']);
      case 12:
        return this.usernames.length > 0 ? this.pick(this.usernames) : 'alice';
      default:
        return this.#codePoint();
    }
  }

  /** Any string: pieces glued together, now and then a very long one. */
  string(): string {
    if (this.chance(0.01)) return this.long();
    const parts = 1 + this.int(this.chance(0.8) ? 2 : 5);
    return Array.from({ length: parts }, () => this.#piece()).join('');
  }

  /** A long string: 10 kB to 100 kB usually, about 1 MB a few times in a run. */
  long(): string {
    const unit = this.pick(['a', 'é', '😀', '\u0000', '*', 'ab\uD800', ' ', 'Ω:']);
    const huge = this.#huge < HUGE_BUDGET && this.chance(0.3);
    if (huge) this.#huge++;
    const length = huge ? 1_000_000 : 10_000 + this.int(90_000);
    return unit.repeat(Math.ceil(length / unit.length));
  }

  /** Something UUID-shaped, right or nearly right. */
  uuidish(): string {
    const hex = () => this.int(16).toString(16);
    const uuid = () =>
      [8, 4, 4, 4, 12].map((n) => Array.from({ length: n }, hex).join('')).join('-');
    switch (this.int(12)) {
      case 0:
        return uuid();
      case 1:
        return uuid().toUpperCase();
      case 2:
        return `{${uuid()}}`;
      case 3:
        return ` ${uuid()}`;
      case 4:
        return uuid().slice(0, 35);
      case 5:
        return `${uuid()}0`;
      case 6:
        return '00000000-0000-0000-0000-000000000000';
      case 7:
        return uuid().replace(/-/g, '');
      case 8:
        return `${uuid()}\n`;
      case 9:
        return uuid().replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
      case 10:
        return `${uuid().slice(0, 34)}*`;
      default:
        return `user:${uuid()}`;
    }
  }

  /** An id: usually one that exists, in its own or another case; else a near miss. */
  id(): unknown {
    const roll = this.int(10);
    if (roll < 4 && this.userIds.length > 0) return this.pick(this.userIds);
    if (roll < 5 && this.messageIds.length > 0) return this.pick(this.messageIds);
    if (roll < 6 && this.userIds.length > 0) return this.pick(this.userIds).toUpperCase();
    if (roll < 8) return this.uuidish();
    return this.any();
  }

  /** A user id that exists (when there is one). */
  userId(): string {
    return this.userIds.length > 0 ? this.pick(this.userIds) : this.uuidish();
  }

  /** A value of any type. */
  any(): unknown {
    switch (this.int(20)) {
      case 0:
        return undefined;
      case 1:
        return null;
      case 2:
        return this.pick([
          0,
          -1,
          1,
          1.5,
          Number.NaN,
          Infinity,
          -Infinity,
          -0,
          1e21,
          2 ** 53,
          1000,
          1001,
        ]);
      case 3:
        return this.pick([true, false]);
      case 4:
        return this.pick([{}, [], [1], ['a'], { length: 3 }, Object.create(null)]);
      case 5:
        return this.pick([
          new Date(0),
          new String('alice'),
          () => 'fn',
          Symbol('s'),
          10n,
          /re/,
          new Map(),
        ]);
      case 6:
        return {
          toString() {
            throw new Error('fuzz: toString was called');
          },
          valueOf() {
            throw new Error('fuzz: valueOf was called');
          },
        };
      case 7:
        return this.uuidish();
      default:
        return this.string();
    }
  }

  /** A page size: mostly sensible, sometimes not a page size at all. */
  limit(): unknown {
    if (this.chance(0.6)) return 1 + this.int(this.chance(0.5) ? 20 : 1000);
    return this.pick([0, -1, 1001, 1.5, Number.NaN, Infinity, '10', null, undefined, 1e9, {}]);
  }

  /** Paging arguments: limit, before, after in every combination, or not an object. */
  paging(): unknown {
    if (this.chance(0.1)) return this.any();
    const paging: Record<string, unknown> = {};
    if (this.chance(0.7)) paging.limit = this.limit();
    const cursor = () =>
      this.chance(0.7) && this.messageIds.length > 0 ? this.pick(this.messageIds) : this.id();
    const roll = this.int(10);
    if (roll < 3) paging.before = cursor();
    else if (roll < 6) paging.after = cursor();
    else if (roll < 7) Object.assign(paging, { before: cursor(), after: cursor() });
    if (this.chance(0.05)) paging[this.string()] = this.any();
    return paging;
  }

  /** A message text: mostly storable, sometimes not. */
  text(): unknown {
    if (this.chance(0.05)) return this.any();
    return this.string();
  }
}

/** A short description of a value, for failure reports (symbols, functions and all). */
export function show(value: unknown): string {
  const text = inspect(value, {
    depth: 2,
    maxStringLength: 60,
    maxArrayLength: 5,
    breakLength: Infinity,
  });
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
