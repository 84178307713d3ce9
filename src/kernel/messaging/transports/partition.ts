/**
 * The partition of a key, shared by every broker transport: FNV-1a (32 bit) of the key's UTF-8
 * bytes, mod `partitions`. Stable across processes, versions and platforms, so every publisher and
 * consumer agrees on where a key's messages go.
 */
export function partitionOf(partitionKey: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(partitionKey, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
