/**
 * The Redis Cluster hash slot of a key or sharded channel, as Redis computes it: CRC16
 * (XMODEM) of the key, or of its hash tag (the part between the first `{` and the next
 * `}`, when not empty), modulo 16384. Every command routed by slot computes one, so it is
 * table-driven and reads an ASCII key's characters without encoding it first.
 * @module
 */

export const SLOTS = 16384;

/** The CRC of each byte value, shifted through the polynomial 0x1021. */
const TABLE = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) {
    crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  TABLE[byte] = crc;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  // An empty tag "{}" counts as no tag: Redis then hashes the whole key.
  const crc = close > open + 1 ? asciiCrc(key, open + 1, close) : asciiCrc(key, 0, key.length);
  // Non-ASCII text: its UTF-8 bytes are what Redis hashes.
  return crc === -1 ? bytesSlot(Buffer.from(key)) : crc % SLOTS;
}

function bytesSlot(bytes: Uint8Array): number {
  const open = bytes.indexOf(OPEN);
  if (open !== -1) {
    const close = bytes.indexOf(CLOSE, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(bytes) % SLOTS;
}

/** The CRC of `text` from `start` to `end`; -1 if a character there is not ASCII. */
function asciiCrc(text: string, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return -1;
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ code) & 0xff] as number);
  }
  return crc;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  }
  return crc;
}
