// IANA protocol keywords (protocol-numbers registry), as goflow2 renders `proto`.

const KEYWORDS: Record<number, string> = {
  0: 'HOPOPT',
  1: 'ICMP',
  2: 'IGMP',
  3: 'GGP',
  4: 'IPv4',
  5: 'ST',
  6: 'TCP',
  7: 'CBT',
  8: 'EGP',
  9: 'IGP',
  10: 'BBN-RCC-MON',
  11: 'NVP-II',
  12: 'PUP',
  13: 'ARGUS',
  14: 'EMCON',
  15: 'XNET',
  16: 'CHAOS',
  17: 'UDP',
  18: 'MUX',
  19: 'DCN-MEAS',
  20: 'HMP',
  21: 'PRM',
  22: 'XNS-IDP',
  23: 'TRUNK-1',
  24: 'TRUNK-2',
  25: 'LEAF-1',
  26: 'LEAF-2',
  27: 'RDP',
  28: 'IRTP',
  29: 'ISO-TP4',
  30: 'NETBLT',
  31: 'MFE-NSP',
  32: 'MERIT-INP',
  33: 'DCCP',
  34: '3PC',
  35: 'IDPR',
  36: 'XTP',
  37: 'DDP',
  38: 'IDPR-CMTP',
  39: 'TP++',
  40: 'IL',
  41: 'IPv6',
  42: 'SDRP',
  43: 'IPv6-Route',
  44: 'IPv6-Frag',
  45: 'IDRP',
  46: 'RSVP',
  47: 'GRE',
  48: 'DSR',
  49: 'BNA',
  50: 'ESP',
  51: 'AH',
  52: 'I-NLSP',
  53: 'SWIPE',
  54: 'NARP',
  55: 'Min-IPv4',
  56: 'TLSP',
  57: 'SKIP',
  58: 'IPv6-ICMP',
  59: 'IPv6-NoNxt',
  60: 'IPv6-Opts',
  62: 'CFTP',
  64: 'SAT-EXPAK',
  65: 'KRYPTOLAN',
  66: 'RVD',
  67: 'IPPC',
  69: 'SAT-MON',
  70: 'VISA',
  71: 'IPCV',
  72: 'CPNX',
  73: 'CPHB',
  74: 'WSN',
  75: 'PVP',
  76: 'BR-SAT-MON',
  77: 'SUN-ND',
  78: 'WB-MON',
  79: 'WB-EXPAK',
  80: 'ISO-IP',
  81: 'VMTP',
  82: 'SECURE-VMTP',
  83: 'VINES',
  84: 'IPTM',
  85: 'NSFNET-IGP',
  86: 'DGP',
  87: 'TCF',
  88: 'EIGRP',
  89: 'OSPFIGP',
  90: 'Sprite-RPC',
  91: 'LARP',
  92: 'MTP',
  93: 'AX.25',
  94: 'IPIP',
  95: 'MICP',
  96: 'SCC-SP',
  97: 'ETHERIP',
  98: 'ENCAP',
  100: 'GMTP',
  101: 'IFMP',
  102: 'PNNI',
  103: 'PIM',
  104: 'ARIS',
  105: 'SCPS',
  106: 'QNX',
  107: 'A/N',
  108: 'IPComp',
  109: 'SNP',
  110: 'Compaq-Peer',
  111: 'IPX-in-IP',
  112: 'VRRP',
  113: 'PGM',
  115: 'L2TP',
  116: 'DDX',
  117: 'IATP',
  118: 'STP',
  119: 'SRP',
  120: 'UTI',
  121: 'SMP',
  122: 'SM',
  123: 'PTP',
  124: 'ISIS',
  125: 'FIRE',
  126: 'CRTP',
  127: 'CRUDP',
  128: 'SSCOPMCE',
  129: 'IPLT',
  130: 'SPS',
  131: 'PIPE',
  132: 'SCTP',
  133: 'FC',
  134: 'RSVP-E2E-IGNORE',
  135: 'Mobility-Header',
  136: 'UDPLite',
  137: 'MPLS-in-IP',
  138: 'manet',
  139: 'HIP',
  140: 'Shim6',
  141: 'WESP',
  142: 'ROHC',
  143: 'Ethernet',
  144: 'AGGFRAG',
  145: 'NSH',
};

/** Index = protocol number; JSON text ready to paste into a record (a quoted keyword, or the
 *  bare number where IANA has no keyword, so nothing is lost). */
export const PROTO_JSON: readonly string[] = Array.from({ length: 256 }, (_, n) =>
  KEYWORDS[n] === undefined ? String(n) : `"${KEYWORDS[n]}"`,
);

/** Display name: the keyword, or the number. */
export function protoName(n: number): string {
  return KEYWORDS[n] ?? String(n);
}

const BY_NAME = new Map<string, number>();
for (const [n, name] of Object.entries(KEYWORDS)) BY_NAME.set(name.toLowerCase(), Number(n));
// Older goflow2 and common spellings seen in the wild.
BY_NAME.set('icmpv6', 58);
BY_NAME.set('ipv6-icmp', 58);
BY_NAME.set('ospf', 89);

/** Protocol from a name (case-insensitive) or number (0-255); undefined if neither. */
export function protoNumber(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 255 ? value : undefined;
  if (/^[0-9]{1,3}$/.test(value)) return protoNumber(Number(value));
  return BY_NAME.get(value.toLowerCase());
}

export const ETYPE_IPV4 = 0x0800;
export const ETYPE_IPV6 = 0x86dd;
export const ETYPE_ARP = 0x0806;

export function etypeName(etype: number): string {
  return etype === ETYPE_IPV4 ? 'IPv4' : etype === ETYPE_IPV6 ? 'IPv6' : etype === ETYPE_ARP ? 'ARP' : '';
}

export function etypeNumber(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 0xffff ? value : undefined;
  switch (value.toLowerCase()) {
    case 'ipv4':
      return ETYPE_IPV4;
    case 'ipv6':
      return ETYPE_IPV6;
    case 'arp':
      return ETYPE_ARP;
    case '':
      return 0;
    default:
      return undefined;
  }
}
