// MAC address text from raw bytes ("aa:bb:cc:dd:ee:ff", lower case, as goflow2 renders it).

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The 6 bytes at `o` as colon-separated lower-case hex. */
export function formatMacAt(b: Uint8Array, o: number): string {
  return `${HEX2[b[o]!]}:${HEX2[b[o + 1]!]}:${HEX2[b[o + 2]!]}:${HEX2[b[o + 3]!]}:${HEX2[b[o + 4]!]}:${HEX2[b[o + 5]!]}`;
}
