// What the two flow-line scanners and the glue between them agree on: the field kinds (scan.ts and
// wasm/scan.ts), and where the WebAssembly scanner leaves a line's values for scan-wasm.ts (its
// NUM and WORD areas). Plain number constants, valid TypeScript and AssemblyScript alike, so that
// both sides import this one table and no number is mirrored by hand.

// Field kinds, by FLOW_FIELDS kind (scan.ts KIND).
export const K_U = 0;
export const K_IP = 1;
export const K_TYPE = 2;
export const K_PROTO = 3;
export const K_ETYPE = 4;
export const K_NET = 5;
export const K_ARRAY = 6;
/** mac and other plain strings: validated, not kept. */
export const K_STR = 7;

/** The slot of a field that is validated but not kept. */
export const NO_SLOT = 255;

// NUM: a line's numbers as f64, by slot (a number field's slot), in FlowView's order.
export const NUM_TIME_RECEIVED = 0;
export const NUM_START = 1;
export const NUM_END = 2;
export const NUM_BYTES = 3;
export const NUM_PACKETS = 4;
export const NUM_SAMPLING_RATE = 5;
export const NUM_ETYPE = 6;
export const NUM_PROTO = 7;
export const NUM_SRC_PORT = 8;
export const NUM_DST_PORT = 9;
export const NUM_IN_IF = 10;
export const NUM_OUT_IF = 11;
export const NUM_TOS = 12;
export const NUM_TCP_FLAGS = 13;
export const NUM_SRC_AS = 14;
export const NUM_DST_AS = 15;
export const NUM_COUNT = 16;

// WORD: u32 words. An address field of slot s (0 src, 1 dst, 2 peer) is words 4s…4s+3 (IPv4 in
// the first) and its family (0, 4, 6) word W_SRC_FAM + s; a net field of slot 0 (src) or 1 (dst)
// is words W_SRC_X or W_DST_X…+3, with its prefix length and family.
export const ADDR_SLOT_SRC = 0;
export const ADDR_SLOT_DST = 1;
export const ADDR_SLOT_PEER = 2;
export const NET_SLOT_SRC = 0;
export const NET_SLOT_DST = 1;
export const W_SRC = 0;
export const W_DST = 4;
export const W_PEER = 8;
export const W_SRC_X = 12;
export const W_DST_X = 16;
export const W_SRC_FAM = 20;
export const W_DST_FAM = 21;
export const W_PEER_FAM = 22;
export const W_SRC_X_LEN = 23;
export const W_DST_X_LEN = 24;
export const W_SRC_X_FAM = 25;
export const W_DST_X_FAM = 26;
export const WORD_COUNT = 32;
