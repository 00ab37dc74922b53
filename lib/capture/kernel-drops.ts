// Kernel drops for our own UDP sockets: the `drops` column of /proc/net/udp and /proc/net/udp6
// (datagrams the kernel discarded because the socket's receive buffer was full). Rows are matched
// by socket inode when known (readlink /proc/self/fd/N → "socket:[INODE]"), else by local port.
// Linux only; elsewhere the figures are reported as unavailable.

import { readFileSync, readlinkSync } from 'node:fs';

export interface SocketRef {
  port: number;
  /** Socket inode, when it could be found. */
  inode?: number;
}

export interface KernelSocketStats {
  /** Sum of the drops column over our sockets; undefined when /proc is not readable. */
  drops: number | undefined;
  /** Bytes waiting in the receive queues right now. */
  rxQueue: number | undefined;
}

/** Inode of the socket behind file descriptor `fd` of this process. */
export function socketInode(fd: number | undefined): number | undefined {
  if (fd === undefined || fd < 0) return undefined;
  try {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Parse one /proc/net/udp{,6} table into rows of {port, inode, drops, rxQueue}. */
export function parseProcNetUdp(text: string): Array<{ port: number; inode: number; drops: number; rxQueue: number }> {
  const rows: Array<{ port: number; inode: number; drops: number; rxQueue: number }> = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 13) continue;
    const local = f[1]!;
    const colon = local.lastIndexOf(':');
    const queues = f[4]!.split(':');
    rows.push({
      port: parseInt(local.slice(colon + 1), 16),
      rxQueue: parseInt(queues[1] ?? '0', 16),
      inode: Number(f[9]),
      drops: Number(f[f.length - 1]),
    });
  }
  return rows;
}

export function readKernelStats(
  sockets: readonly SocketRef[],
  files = ['/proc/net/udp', '/proc/net/udp6'],
): KernelSocketStats {
  let drops = 0;
  let rxQueue = 0;
  let readable = false;
  const seen = new Set<number>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const row of parseProcNetUdp(text)) {
      const mine = sockets.some((s) => (s.inode !== undefined ? s.inode === row.inode : s.port === row.port));
      if (!mine || seen.has(row.inode)) continue;
      seen.add(row.inode);
      drops += row.drops;
      rxQueue += row.rxQueue;
    }
  }
  return readable ? { drops, rxQueue } : { drops: undefined, rxQueue: undefined };
}
