// Link-layer header types (tcpdump.org LINKTYPE_ values, as stored in pcap and pcapng headers)
// that parseFrame understands, and their names for messages.

export const LINKTYPE_NULL = 0; // BSD loopback: 4-byte address family in the capturing host's byte order
export const LINKTYPE_ETHERNET = 1;
export const DLT_RAW_12 = 12; // DLT_RAW on most BSDs (raw IPv4/IPv6)
export const DLT_RAW_14 = 14; // DLT_RAW on OpenBSD
export const LINKTYPE_RAW = 101; // raw IPv4/IPv6, version from the first nibble
export const LINKTYPE_LOOP = 108; // OpenBSD loopback: 4-byte address family, network byte order
export const LINKTYPE_LINUX_SLL = 113; // Linux "cooked" capture v1 (tcpdump -i any)
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276; // Linux "cooked" capture v2

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, 'NULL'],
  [LINKTYPE_ETHERNET, 'EN10MB'],
  [DLT_RAW_12, 'RAW'],
  [DLT_RAW_14, 'RAW'],
  [LINKTYPE_RAW, 'RAW'],
  [LINKTYPE_LOOP, 'LOOP'],
  [LINKTYPE_LINUX_SLL, 'LINUX_SLL'],
  [LINKTYPE_IPV4, 'IPV4'],
  [LINKTYPE_IPV6, 'IPV6'],
  [LINKTYPE_LINUX_SLL2, 'LINUX_SLL2'],
  // Common ones we do not decode, named so the message says what the capture is.
  [6, 'IEEE802_5'],
  [9, 'PPP'],
  [50, 'PPP_HDLC'],
  [104, 'C_HDLC'],
  [105, 'IEEE802_11'],
  [127, 'IEEE802_11_RADIOTAP'],
  [147, 'USER0'],
  [192, 'PPI'],
  [220, 'USB_LINUX_MMAPPED'],
  [249, 'NETLINK'],
]);

export function isSupportedLinkType(linkType: number): boolean {
  switch (linkType) {
    case LINKTYPE_NULL:
    case LINKTYPE_ETHERNET:
    case DLT_RAW_12:
    case DLT_RAW_14:
    case LINKTYPE_RAW:
    case LINKTYPE_LOOP:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_LINUX_SLL2:
      return true;
    default:
      return false;
  }
}

/** "113 (LINUX_SLL)", or just the number when we do not know the name. */
export function describeLinkType(linkType: number): string {
  const name = NAMES.get(linkType);
  return name === undefined ? String(linkType) : `${linkType} (${name})`;
}
