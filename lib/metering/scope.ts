// Which router a flow passed, which labels count on that router, and which way the flow crossed it.
// A router claims flows by exporter address (sampler_address) and, when it lists interfaces, by
// in_if/out_if. A non-shared label counts on its project's routers, a shared one on all (Neutron's
// metering plugin). Direction comes from the external interfaces (iptables' -i/-o qg-…), else from
// the internal subnets (the router's, else the run's --subnets): egress leaves the source's subnet,
// ingress enters the destination's, a flow between two internal subnets is both, one inside a
// subnet is neither. With neither known, the matcher's crossing rule decides.

import type { FlowRecord } from '../flow/record.js';
import { parseNetworks, type NetworkTable } from '../networks/file.js';
import type { Router, StoreData } from './model.js';
import { ANY_DIRECTION, EGRESS, INGRESS } from './match.js';
import { parsePrefix } from './prefix.js';

export interface Slot {
  /** undefined: no routers are defined and every label counts every flow. */
  router: Router | undefined;
  /** 1 where the label (by index in the store) counts on this router. */
  applies: Uint8Array;
  subnets: NetworkTable | undefined;
}

export interface Direction {
  dirs: number;
  crossing: boolean;
}

const NONE: Direction = { dirs: 0, crossing: false };
const CROSSING: Direction = { dirs: ANY_DIRECTION, crossing: true };

function canonicalAddress(text: string): string {
  const p = parsePrefix(text);
  return p ? p.network.replace(/\/\d+$/, '') : text;
}

function subnetTable(cidrs: readonly string[]): NetworkTable {
  return parseNetworks(cidrs.join('\n')).table; // CIDRs were validated when the router was made
}

export class Scope {
  readonly slots: Slot[];
  private readonly byExporter = new Map<string, number[]>();
  private readonly canonical = new Map<string, string>();

  constructor(
    data: StoreData,
    private readonly subnets: NetworkTable | undefined,
    private readonly externalIfs: ReadonlySet<number> | undefined,
  ) {
    const labels = data.metering_labels;
    if (data.routers.length === 0) {
      this.slots = [{ router: undefined, applies: new Uint8Array(labels.length).fill(1), subnets }];
      return;
    }
    this.slots = data.routers.map((r) => ({
      router: r,
      applies: Uint8Array.from(labels, (l) => (l.shared || l.project_id === r.project_id ? 1 : 0)),
      subnets: r.subnets.length > 0 ? subnetTable(r.subnets) : subnets,
    }));
    data.routers.forEach((r, i) => {
      const list = this.byExporter.get(r.exporter);
      if (list) list.push(i);
      else this.byExporter.set(r.exporter, [i]);
    });
  }

  get hasRouters(): boolean {
    return this.slots[0]!.router !== undefined;
  }

  /** The slot whose router claims this flow, -1 when none does. */
  slotOf(r: FlowRecord): number {
    if (!this.hasRouters) return 0;
    let addr = this.canonical.get(r.sampler_address);
    if (addr === undefined) this.canonical.set(r.sampler_address, (addr = canonicalAddress(r.sampler_address)));
    const candidates = this.byExporter.get(addr);
    if (!candidates) return -1;
    for (const i of candidates) {
      const ifs = this.slots[i]!.router!.interfaces;
      if (ifs.length === 0 || ifs.includes(r.in_if) || ifs.includes(r.out_if)) return i;
    }
    return -1;
  }

  /** The directions this flow has on the slot's router. */
  direction(slot: Slot, r: FlowRecord): Direction {
    if (this.externalIfs) {
      const dirs = (this.externalIfs.has(r.in_if) ? INGRESS : 0) | (this.externalIfs.has(r.out_if) ? EGRESS : 0);
      return dirs === 0 ? NONE : { dirs, crossing: false };
    }
    const table = slot.subnets;
    if (!table) return CROSSING;
    const s = table.lookup(r.src_addr);
    const d = table.lookup(r.dst_addr);
    if (!s || !d || s === d) return NONE; // same subnet, both outside, or unparsable addresses
    const dirs = (s.line > 0 ? EGRESS : 0) | (d.line > 0 ? INGRESS : 0); // line 0: no subnet covers it
    return dirs === 0 ? NONE : { dirs, crossing: false };
  }

  /** True when some slot decides direction by the crossing rule alone (no subnets, no external if). */
  get anyCrossingOnly(): boolean {
    return !this.externalIfs && this.slots.some((s) => s.subnets === undefined);
  }
}
