/**
 * The Redis Cluster hash slot of a key or sharded channel, as Redis computes it: CRC16
 * (XMODEM) of the key, or of its hash tag (the part between the first `{` and the next
 * `}`, when not empty), modulo 16384.
 * @module
 */

export const SLOTS = 16384;

export function keySlot(key: string): number {
  const bytes = Buffer.from(key);
  const open = bytes.indexOf('{');
  if (open !== -1) {
    const close = bytes.indexOf('}', open + 1);
    // An empty tag "{}" counts as no tag: Redis then hashes the whole key.
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(bytes) % SLOTS;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}
