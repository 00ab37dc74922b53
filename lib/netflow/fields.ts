// Information elements we turn into flow fields (NetFlow v9 field types, RFC 3954 §8, are the
// first 127 IPFIX IEs, RFC 7012 / IANA ipfix registry) and the compiled "field plan" of a
// template: one small action code and one length per field, built once per template, so the
// per-record loop is a flat switch over integers with no allocation and no lookups.

/** Action codes. 0 = skip the field by its length (unknown IE, enterprise IE, wrong length).
 *  A const enum so the record loop's switch sees literal cases (a jump table, not a chain of
 *  property loads and compares; bench/README.md). */
export const enum A {
  SKIP = 0,
  BYTES = 1,
  PKTS = 2,
  OUT_BYTES = 3,
  OUT_PKTS = 4,
  TOT_BYTES = 5,
  TOT_PKTS = 6,
  PROTO = 7,
  TOS = 8,
  TCP_FLAGS = 9,
  SRC_PORT = 10,
  DST_PORT = 11,
  SRC4 = 12,
  DST4 = 13,
  SRC6 = 14,
  DST6 = 15,
  SRC_MASK = 16,
  DST_MASK = 17,
  SRC6_MASK = 18,
  DST6_MASK = 19,
  IN_IF = 20,
  OUT_IF = 21,
  IN_PHYS = 22,
  OUT_PHYS = 23,
  NH4 = 24,
  NH6 = 25,
  BGP_NH4 = 26,
  BGP_NH6 = 27,
  SRC_AS = 28,
  DST_AS = 29,
  NEXT_HOP_AS = 30,
  FIRST_SW = 31,
  LAST_SW = 32,
  START_S = 33,
  END_S = 34,
  START_MS = 35,
  END_MS = 36,
  START_US = 37,
  END_US = 38,
  START_NS = 39,
  END_NS = 40,
  START_DELTA_US = 41,
  END_DELTA_US = 42,
  SYS_INIT_MS = 43,
  ICMP_TC = 44,
  ICMP_TYPE = 45,
  ICMP_CODE = 46,
  SRC_MAC = 47,
  DST_MAC = 48,
  POST_SRC_MAC = 49,
  POST_DST_MAC = 50,
  SRC_VLAN = 51,
  DST_VLAN = 52,
  DOT1Q_VLAN = 53,
  POST_DOT1Q_VLAN = 54,
  TTL = 55,
  MIN_TTL = 56,
  DIRECTION = 57,
  FWD_STATUS = 58,
  FLOW_LABEL = 59,
  FRAG_ID = 60,
  FRAG_OFF = 61,
  FRAG_FLAGS = 62,
  IP_VERSION = 63,
  OBS_DOMAIN = 64,
  OBS_POINT = 65,
  SAMPLING_INTERVAL = 66,
  SAMPLING_ALGO = 67,
  SAMPLER_RANDOM = 68,
  PKT_INTERVAL = 69,
  PKT_SPACE = 70,
  SAMPLING_SIZE = 71,
  SAMPLING_POP = 72,
  SAMPLER_ID = 73,
  SELECTOR_ID = 74,
  MPLS1 = 75,
  MPLS2 = 76,
  MPLS3 = 77,
  INIT_BYTES = 78,
  INIT_PKTS = 79,
}

/** How a planned field is read into the scratch record (data.ts readRecord). */
export const enum K {
  UINT = 0,
  OFFSET = 1,
  NTP_US = 2,
  NTP_NS = 3,
  MPLS = 4,
}

type Kind = 'u' | 'v4' | 'v6' | 'mac' | 'ntp' | 'tc' | 'mpls';

/** IE id → [action, kind]. Kinds fix which lengths are meaningful: unsigned integers in 1-8 bytes
 *  (reduced-size encoding, RFC 7011 §6.2), addresses and MACs exactly, NTP timestamps 8 bytes. */
const IES: ReadonlyArray<[number, A, Kind]> = [
  [1, A.BYTES, 'u'],
  [2, A.PKTS, 'u'],
  [4, A.PROTO, 'u'],
  [5, A.TOS, 'u'],
  [6, A.TCP_FLAGS, 'u'],
  [7, A.SRC_PORT, 'u'],
  [8, A.SRC4, 'v4'],
  [9, A.SRC_MASK, 'u'],
  [10, A.IN_IF, 'u'],
  [11, A.DST_PORT, 'u'],
  [12, A.DST4, 'v4'],
  [13, A.DST_MASK, 'u'],
  [14, A.OUT_IF, 'u'],
  [15, A.NH4, 'v4'],
  [16, A.SRC_AS, 'u'],
  [17, A.DST_AS, 'u'],
  [18, A.BGP_NH4, 'v4'],
  [21, A.LAST_SW, 'u'],
  [22, A.FIRST_SW, 'u'],
  [23, A.OUT_BYTES, 'u'],
  [24, A.OUT_PKTS, 'u'],
  [27, A.SRC6, 'v6'],
  [28, A.DST6, 'v6'],
  [29, A.SRC6_MASK, 'u'],
  [30, A.DST6_MASK, 'u'],
  [31, A.FLOW_LABEL, 'u'],
  [32, A.ICMP_TC, 'tc'],
  [34, A.SAMPLING_INTERVAL, 'u'],
  [35, A.SAMPLING_ALGO, 'u'],
  [48, A.SAMPLER_ID, 'u'],
  [50, A.SAMPLER_RANDOM, 'u'],
  [52, A.MIN_TTL, 'u'],
  [54, A.FRAG_ID, 'u'],
  [56, A.SRC_MAC, 'mac'],
  [57, A.POST_DST_MAC, 'mac'],
  [58, A.SRC_VLAN, 'u'],
  [59, A.DST_VLAN, 'u'],
  [60, A.IP_VERSION, 'u'],
  [61, A.DIRECTION, 'u'],
  [62, A.NH6, 'v6'],
  [63, A.BGP_NH6, 'v6'],
  [70, A.MPLS1, 'mpls'],
  [71, A.MPLS2, 'mpls'],
  [72, A.MPLS3, 'mpls'],
  [80, A.DST_MAC, 'mac'],
  [81, A.POST_SRC_MAC, 'mac'],
  [85, A.TOT_BYTES, 'u'],
  [86, A.TOT_PKTS, 'u'],
  [88, A.FRAG_OFF, 'u'],
  [89, A.FWD_STATUS, 'u'],
  [128, A.NEXT_HOP_AS, 'u'],
  [138, A.OBS_POINT, 'u'],
  [139, A.ICMP_TC, 'tc'],
  [149, A.OBS_DOMAIN, 'u'],
  [150, A.START_S, 'u'],
  [151, A.END_S, 'u'],
  [152, A.START_MS, 'u'],
  [153, A.END_MS, 'u'],
  [154, A.START_US, 'ntp'],
  [155, A.END_US, 'ntp'],
  [156, A.START_NS, 'ntp'],
  [157, A.END_NS, 'ntp'],
  [158, A.START_DELTA_US, 'u'],
  [159, A.END_DELTA_US, 'u'],
  [160, A.SYS_INIT_MS, 'u'],
  [176, A.ICMP_TYPE, 'u'],
  [177, A.ICMP_CODE, 'u'],
  [178, A.ICMP_TYPE, 'u'],
  [179, A.ICMP_CODE, 'u'],
  [192, A.TTL, 'u'],
  [197, A.FRAG_FLAGS, 'u'],
  [243, A.DOT1Q_VLAN, 'u'],
  [252, A.IN_PHYS, 'u'],
  [253, A.OUT_PHYS, 'u'],
  [254, A.POST_DOT1Q_VLAN, 'u'],
  [302, A.SELECTOR_ID, 'u'],
  [305, A.PKT_INTERVAL, 'u'],
  [306, A.PKT_SPACE, 'u'],
  [309, A.SAMPLING_SIZE, 'u'],
  [310, A.SAMPLING_POP, 'u'],
  // Cisco ASA NSEL / RFC 5103-style initiator counters: the record's src → dst direction
  [231, A.INIT_BYTES, 'u'],
  [298, A.INIT_PKTS, 'u'],
];

const ACTION = new Uint8Array(65536);
const KIND: Kind[] = new Array<Kind>(65536);
for (const [id, action, kind] of IES) {
  ACTION[id] = action;
  KIND[id] = kind;
}

/** The variable-length marker in a template (RFC 7011 §7). */
export const VARLEN = 65535;

/** Action for one template field: SKIP unless we know the IE and its length makes sense. */
export function actionFor(id: number, length: number, enterprise: boolean): A {
  if (enterprise || length === VARLEN) return A.SKIP;
  const action = ACTION[id]! as A;
  if (action === A.SKIP) return A.SKIP;
  switch (KIND[id]) {
    case 'u':
      return length >= 1 && length <= 8 ? action : A.SKIP;
    case 'v4':
      return length === 4 ? action : A.SKIP;
    case 'v6':
      return length === 16 ? action : A.SKIP;
    case 'mac':
      return length === 6 ? action : A.SKIP;
    case 'ntp':
      return length === 8 ? action : A.SKIP;
    case 'tc':
      return length === 2 ? action : A.SKIP;
    case 'mpls':
      return length === 3 ? action : A.SKIP;
    default:
      return A.SKIP;
  }
}

/** Read kind for a planned field (only meaningful when actionFor() is not SKIP). */
export function kindFor(id: number): K {
  switch (KIND[id]) {
    case 'v6':
    case 'mac':
      return K.OFFSET;
    case 'ntp':
      return id === 154 || id === 155 ? K.NTP_US : K.NTP_NS;
    case 'mpls':
      return K.MPLS;
    default:
      return K.UINT;
  }
}
