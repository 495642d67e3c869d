import { randomUUID } from 'node:crypto';
import { RedisMessenger, RedisTimeoutError, RedisUnavailableError } from 'redis-messenger';

const messenger = await RedisMessenger.connect({ namespace: 'example', commandTimeoutMs: 2000 });
const [alice, bob] = await Promise.all(
  ['Alice', 'Bob'].map((name) => messenger.findUserByUsername(name)),
);
if (!alice || !bob) {
  // A person ran this one first: tell them what to run, and close the connection.
  console.error('Alice and Bob do not exist yet: run examples/quick-start.ts first');
  await messenger.close();
  process.exit(1);
}

// A timed-out send may still have been stored. Choosing the id up front makes the retry
// safe: however often it is sent, the message is stored once.
const messageId = randomUUID();
for (let attempt = 1; ; attempt++) {
  try {
    await messenger.sendMessage(alice.id, bob.id, 'exactly once', { messageId });
    await messenger.sendMessage(alice.id, bob.id, 'exactly once', { messageId }); // a harmless repeat
    break;
  } catch (error) {
    const transient = error instanceof RedisTimeoutError || error instanceof RedisUnavailableError;
    if (!transient || attempt === 5) throw error;
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
}
const { messages } = await messenger.listUserMessages(bob.id, { limit: 10 });
console.log('stored', messages.filter((m) => m.id === messageId).length, 'time(s)');
await messenger.close();
