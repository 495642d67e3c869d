import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newMessageId } from '../src/core/ids.js';

it('message ids are UUIDv7: the time in the first 48 bits, version 7, RFC variant, random rest', () => {
  const now = Date.UTC(2026, 10, 26, 15, 0, 0, 123);
  const id = newMessageId(now);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16), now);
  const many = new Set(Array.from({ length: 10_000 }, () => newMessageId(now)));
  assert.equal(many.size, 10_000);
  assert.ok(newMessageId(now) < newMessageId(now + 1), 'later ids sort after earlier ones');
});
