/**
 * Session tokens: what a token names, and the tokens the guard remembers so that a known
 * one is not hashed again on every request.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { KnownTokens, newToken, readToken, tokenHash } from '../src/server/auth/tokens.js';

describe('session tokens', () => {
  it('a token names its user and its session by SHA-256; anything else names nothing', () => {
    const userId = randomUUID();
    const token = newToken(userId);
    assert.deepEqual(readToken(token), { userId, hash: tokenHash(token) });
    assert.match(tokenHash(token), /^[0-9a-f]{64}$/);
    for (const bad of [
      '',
      'msg_',
      `msg_${userId}_short`,
      `${token}x`,
      token.replace('msg_', 'tok_'),
    ])
      assert.equal(readToken(bad), null, bad);
  });

  it('known tokens answer as readToken does, keep only what was kept, and forget', () => {
    const known = new KnownTokens();
    const token = newToken(randomUUID());
    const named = readToken(token);
    assert.ok(named);
    assert.deepEqual(known.read(token), named);
    assert.equal(known.size, 0, 'reading keeps nothing: only a found session is kept');
    known.keep(token, named);
    assert.equal(known.read(token), named, 'from memory');
    assert.equal(known.read('not a token'), null);
    known.forget(token);
    assert.equal(known.size, 0);
    assert.deepEqual(known.read(token), named, 'read again once forgotten');
  });

  it('at most max tokens are kept, the oldest going first, each once', () => {
    const known = new KnownTokens(3);
    const tokens = Array.from({ length: 4 }, () => newToken(randomUUID()));
    // Marked answers, to tell what comes from memory from what was read again.
    for (const [i, token] of tokens.entries())
      known.keep(token, { userId: `kept-${i}`, hash: 'h' });
    assert.equal(known.size, 3);
    assert.deepEqual(
      tokens.map((t) => known.read(t)?.userId),
      [tokens[0]?.split('_')[1], 'kept-1', 'kept-2', 'kept-3'],
    );
    known.keep(tokens[3] as string, { userId: 'again', hash: 'h' });
    assert.equal(known.read(tokens[3] as string)?.userId, 'kept-3', 'kept once');
  });
});
