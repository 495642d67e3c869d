import { RedisMessenger } from 'redis-messenger';

const messenger = await RedisMessenger.connect({ namespace: 'example' });
const [alice, bob] = await Promise.all(
  ['Alice', 'Bob'].map((name) => messenger.findUserByUsername(name)),
);
if (!alice || !bob) {
  // A person ran this one first: tell them what to run, and close the connection.
  console.error('Alice and Bob do not exist yet: run examples/quick-start.ts first');
  await messenger.close();
  process.exit(1);
}

// Messages arrive in order, once each, even across a lost connection. Keep the cursor
// (the last message delivered) to resume from it in a later run with { after: cursor }.
const subscription = await messenger.subscribe(
  bob.id,
  (message) =>
    console.log(`${message.senderId === alice.id ? 'Alice' : message.senderId}: ${message.text}`),
  {
    onConnectionChange: (connected) =>
      console.log(connected ? '(back online)' : '(connection lost)'),
  },
);

for (let i = 1; i <= 3; i++) await messenger.sendMessage(alice.id, bob.id, `live message ${i}`);
await new Promise((resolve) => setTimeout(resolve, 200));
console.log('resume later with after:', subscription.cursor);
await messenger.close(); // closes the subscription too
