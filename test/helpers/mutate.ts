// Deterministic mutations for fuzzing binary readers: bit flips, truncation, a 32-bit field set
// to 0, 1, max or random. Shared by the short fuzz test and the long run in bench/.

/** A mutated copy of src; the first `keep` bytes (a file magic) are left alone. */
export function mutate(src: Buffer, r: () => number, keep = 4): Buffer {
  const b = Buffer.from(src);
  const kind = Math.floor(r() * 4);
  const at = keep + Math.floor(r() * (b.length - keep));
  if (kind === 0) {
    for (let i = 0; i < 1 + r() * 8; i++) {
      const p = keep + Math.floor(r() * (b.length - keep));
      b[p]! ^= 1 << Math.floor(r() * 8);
    }
    return b;
  }
  if (kind === 1) return b.subarray(0, at);
  const v = [0, 1, 0xffffffff, Math.floor(r() * 4294967296)][Math.floor(r() * 4)]!;
  const p = at & ~3;
  if (p + 4 <= b.length) b.writeUInt32LE(v, p);
  return b;
}
