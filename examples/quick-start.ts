import { RedisMessenger, UsernameTakenError } from 'redis-messenger';

const messenger = await RedisMessenger.connect({ namespace: 'example' });

/** Creates the user, or finds them if the name is taken already. */
async function user(name: string): Promise<string> {
  try {
    return await messenger.createUser(name);
  } catch (error) {
    const existing =
      error instanceof UsernameTakenError && (await messenger.findUserByUsername(name));
    if (!existing) throw error;
    return existing.id;
  }
}

try {
  const alice = await user('Alice');
  const bob = await user('Bob');
  await messenger.sendMessage(alice, bob, 'Hello, Bob!');
  const { messages, hasOlder } = await messenger.listUserMessages(bob, { limit: 5 });
  for (const message of messages) console.log(message.sentAt.toISOString(), message.text);
  if (hasOlder) console.log('(older messages: page with { before: messages[0].id })');
  console.log('unread:', await messenger.unreadCount(bob));
} finally {
  await messenger.close();
}
