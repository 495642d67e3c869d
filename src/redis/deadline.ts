/**
 * A deadline for work that may never finish: node-redis waits forever for a reply from a
 * server that is paused or cut off without closing the socket.
 * @module
 */

/** `work`'s result, or a rejection with `late()` once `ms` have passed. */
export async function withDeadline<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
