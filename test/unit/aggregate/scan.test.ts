// The byte scanners (fast path of flow-aggregate) against the reference path they stand in for:
// JSON.parse + flowFromObject + FlowView.set. For every line a scanner accepts, the view must
// hold exactly what the reference gives (and the reference must accept the line); lines as
// flow-capture writes them must all be accepted. Each test runs three times: the JavaScript
// scanner (scan.ts), the WebAssembly one alone (wasm/scan.ts: it must take every line without
// an IPv6 address with a zone or a dotted tail), and the two together as flow-aggregate uses them. Inputs: every
// fixture capture through flow-capture, and random/edge-case lines (test/helpers/flow-lines.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FlowView } from '../../../lib/aggregate/view.js';
import { FlowLineScanner } from '../../../lib/aggregate/scan.js';
import { WasmFlowLineScanner } from '../../../lib/aggregate/scan-wasm.js';
import { flowToJson } from '../../../lib/flow/record.js';
import { parseNetworks } from '../../../lib/networks/file.js';
import { rng } from '../../helpers/prng.js';
import { randomLine, randomRecord, referenceView, viewSnapshot } from '../../helpers/flow-lines.js';
import { ROOT } from '../../helpers/spawn.js';

const nets = parseNetworks('10.0.0.0/8\n10.0.3.0/24\n8.8.8.0/24\n2001:db8::/32\n2001:db8:5::/48\n0.0.0.0/1\n').table;

interface Tally {
  lines: number;
  accepted: number;
  valid: number;
}

type Kind = 'js' | 'wasm' | 'wasm+js';
const KINDS: readonly Kind[] = ['js', 'wasm', 'wasm+js'];

interface Scanner {
  scan(b: Buffer, p: number, end: number): number;
  /** Where the lines must be for this scanner: one of its buffers (copied there), or anywhere. */
  buffer?: Buffer;
}

function scannerOf(kind: Kind, view: FlowView): Scanner {
  if (kind === 'js') return new FlowLineScanner(view);
  const w = new WasmFlowLineScanner(view);
  return {
    scan: kind === 'wasm' ? (b, p, e) => w.scanWasm(b, p, e) : (b, p, e) => w.scan(b, p, e),
    buffer: w.chunkBuffers[1],
  };
}

/** The lines the WebAssembly scanner leaves to scan.ts even when valid: IPv6 addresses and nets
 *  with a zone or a dotted IPv4 tail. */
const IPV6 = /"(src_addr|dst_addr|sampler_address|next_hop|bgp_next_hop|src_net|dst_net)":"(?=[^"]*:)[^"]*[.%]/;

/** Lines both scanners leave to JSON.parse even when valid: a counter above 2^53 - 1, which a
 *  double cannot hold (lib/flow/counter.ts keeps it exact). */
const wideCounter = (l: string): boolean =>
  /"(bytes|packets)":[0-9]{16,}/.test(l) &&
  [...l.matchAll(/"(?:bytes|packets)":([0-9]+)/g)].some((m) => Number(m[1]) > Number.MAX_SAFE_INTEGER);

/** Lines as one buffer each, as the reader hands them over (the scanner must stop at each '\n'):
 *  all of them, or as many whole lines as fit the scanner's buffer at a time. */
function* buffersOf(lines: readonly string[], room: Buffer | undefined): Generator<[Buffer, string[]]> {
  let group: string[] = [];
  let size = 0;
  for (const l of lines) {
    const n = Buffer.byteLength(l + '\n');
    if (room && size + n > room.length && group.length > 0) {
      yield pack(group, room);
      group = [];
      size = 0;
    }
    group.push(l);
    size += n;
  }
  if (group.length > 0) yield pack(group, room);
}

function pack(group: string[], room: Buffer | undefined): [Buffer, string[]] {
  const b = Buffer.from(group.map((l) => l + '\n').join(''), 'utf8');
  if (!room) return [b, group];
  assert.ok(b.length <= room.length, 'a test line longer than the scanner buffer');
  b.copy(room);
  return [room.subarray(0, b.length), group];
}

function check(lines: readonly string[], mustAccept: boolean, kind: Kind): Tally {
  const refView = new FlowView(nets);
  const view = new FlowView(nets);
  const scanner = scannerOf(kind, view);
  const t: Tally = { lines: 0, accepted: 0, valid: 0 };
  for (const [buf, group] of buffersOf(lines, scanner.buffer)) {
    let start = 0;
    for (const line of group) {
      const len = Buffer.byteLength(line + '\n');
      const ref = referenceView(line.endsWith('\r') ? line.slice(0, -1) : line, refView);
      t.lines++;
      if (ref) t.valid++;
      if (buf[start]! > 32) {
        const nl = scanner.scan(buf, start, buf.length);
        if (nl >= 0) {
          t.accepted++;
          assert.equal(nl, start + len - 1, `${kind} stops at the line's end: ${line}`);
          assert.ok(ref, `${kind} accepted a line the reference rejects: ${line}`);
          assert.deepEqual(viewSnapshot(view), ref, `${kind}: same view: ${line}`);
        } else if (mustAccept && !wideCounter(line) && (kind !== 'wasm' || !IPV6.test(line)))
          assert.fail(`${kind}: not accepted: ${line}`);
      }
      start += len;
    }
  }
  return t;
}

for (const kind of KINDS) {
  test(`${kind}: every fixture capture through flow-capture: all lines accepted, same view`, () => {
    const pcaps = [
      ...readdirSync(join(ROOT, 'test/fixtures'))
        .filter((f) => f.endsWith('.pcap'))
        .map((f) => join(ROOT, 'test/fixtures', f)),
      ...['aggregate/nf5.pcap', 'aggregate/nf9.pcap', 'report/netflow-v9.pcap'].map((f) =>
        join(ROOT, 'test/fixtures', f),
      ),
    ];
    let total = 0;
    for (const p of pcaps) {
      // (some captures hold datagrams flow-capture rejects: exit 65, the flows it decoded still count)
      const out = spawnSync(process.execPath, [join(ROOT, 'bin/flow-capture.js'), '-q', '-r', p], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      }).stdout;
      const lines = out.split('\n').filter((l) => l !== '');
      const t = check(lines, true, kind);
      total += t.accepted;
    }
    assert.ok(total > 1000, `fixture flows checked: ${total}`);
  });

  test(`${kind}: random records as flow-capture writes them: all accepted, same view`, () => {
    const r = rng(1);
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(flowToJson(randomRecord(r)));
    const t = check(lines, true, kind);
    assert.equal(t.accepted, lines.filter((l) => !wideCounter(l) && (kind !== 'wasm' || !IPV6.test(l))).length);
    assert.ok(t.accepted > 5000, `accepted ${t.accepted}`);
  });

  test(`${kind}: edge cases: whatever the scanner accepts the reference accepts with the same view`, () => {
    for (const seed of [2, 3, 4, 5]) {
      const r = rng(seed);
      const lines: string[] = [];
      for (let i = 0; i < 25_000; i++) lines.push(randomLine(r));
      const t = check(lines, false, kind);
      // the scanner must take most valid lines (else the fast path is not doing its job) and
      // must leave to the reference a good share of the mutated ones
      assert.ok(
        t.accepted > t.valid * (kind === 'wasm' ? 0.3 : 0.6),
        `accepted ${t.accepted} of ${t.valid} valid of ${t.lines}`,
      );
      assert.ok(t.accepted < t.valid, `accepted ${t.accepted} of ${t.valid} valid`);
    }
  });

  test(`${kind}: hand-picked lines: numbers, addresses, nets, strings, structure`, () => {
    const ok = [
      '{"bytes":0}',
      '{ "bytes" : 1 , "packets":2 }',
      '{"bytes":9007199254740991,"packets":9007199254740991}',
      '{"src_addr":"::ffff:1.2.3.4","src_net":"::/0"}',
      '{"src_addr":"2001:db8::1%eth0","dst_addr":"1.2.3.4","src_net":"2001:db8::1/64","dst_net":"1.2.3.4/24"}',
      '{"src_addr":"10.1.2.3","src_net":"","dst_net":"10.0.0.0/8"}',
      '{"src_addr":"10.1.2.3","src_net":"10.1.2.3/32","etype":0}',
      '{"src_addr":"2001:db8::1","etype":""}',
      '{"bytes":1}\r',
      '{"as_path":[],"mpls_label":[ 1 , 2 ],"src_mac":"é","bytes":1}',
      '{"as_path":[9007199254740991,0],"bgp_communities":[],"src_addr":"10.1.2.3","src_net":"10.1.2.3/0","dst_net":"10.1.2.3/31"}',
      '{"proto":"tcp","etype":"ipv6","type":"IPFIX","packets":1}',
      '{"proto":"6","etype":34525,"bytes":2}',
      '{"src_addr":"2001:db8::1","dst_addr":"::","src_net":"2001:db8::1/64","dst_net":"2001:DB8:0:0:0:0:0:1/127"}',
      '{"src_addr":"::1","dst_addr":"1::","sampler_address":"1:2:3:4:5:6:7:8","src_net":"::/0","dst_net":"ffff:ffff:ffff:ffff::/33"}',
      '{"src_addr":"fe80::aB:0","dst_addr":"10.0.0.1","src_net":"fe80::ab:1/008","dst_net":"10.0.0.1/8"}',
    ];
    const leftToReference = [
      // no address and no counter (dialects.ts refuses them: not a flow record)
      '{}',
      '{"proto":"tcp","etype":"ipv6","type":"IPFIX"}',
      '{"as_path":[9007199254740991,0],"src_net":"10.1.2.3/0"}',
      '{"time_flow_start_ns":1700000000123456789,"time_flow_end_ns":9223372036854774783}',
      // a key flowmeter does not write: another collector's record (goflow v1, nfdump, pmacct), read by dialects.ts
      '{"bytes":1,"extra":"x"}',
      '{"__proto__":1,"constructor":"x","bytes":1}',
      '{"t":true,"f":false,"z":null,"n":-1.5e3,"bytes":1}',
      '{"Type":"NETFLOW_V9","Bytes":1500,"SrcAddr":"10.0.0.1"}',
      '{"event_type": "purge", "ip_src": "10.0.0.1", "packets": 1, "bytes": 60}',
      '{"bytes":-1}',
      '{"bytes":1.0}',
      '{"bytes":1e3}',
      '{"bytes":01}',
      '{"bytes":"1"}',
      '{"bytes":null}',
      '{"bytes":18446744073709551616}',
      '{"src_port":65536}',
      '{"ip_tos":256}',
      '{"proto":256}',
      '{"proto":"bogus"}',
      '{"type":"ipfix"}',
      '{"type":1}',
      '{"src_addr":"1.2.3"}',
      '{"src_addr":"01.2.3.4"}',
      '{"src_addr":"1.2.3.4 "}',
      '{"src_net":"1.2.3.4/33"}',
      '{"src_net":24}',
      '{"bytes":1,"bytes":2}',
      '{"flows":1}',
      '{"b\\u0079tes":1}',
      '{"x":{"a":1}}',
      '{"x":[1]}',
      '{"bytes":1,}',
      '{"bytes":1}}',
      '{"bytes":1} x',
      '{"as_path":[1,-2]}',
      '{"as_path":[1.5]}',
      '{"as_path":[9007199254740992]}',
      '{"as_path":[1,]}',
      '{"bytes":12345678901234567890123}',
      '{"bytes":9007199254740992}',
      '{"packets":9007199254740993}',
      '{"bytes":18446744073709551615}',
      '{"src_addr":"12345::"}',
      '{"src_addr":"1:2:3:4:5:6:7:8:9"}',
      '{"src_addr":"1:::2"}',
      '{"src_addr":":1"}',
      '{"src_addr":"1:"}',
      '{"src_addr":"1::2::3"}',
      '{"src_addr":"1:2:3:4:5:6:7::8"}',
      '{"src_addr":"g::1"}',
      '{"src_addr":"1:2:3:4:5:6:7"}',
      '{"src_net":"2001:db8::/129"}',
      '{"src_net":"2001:db8::/1234"}',
      '{"src_net":"2001:db8::/"}',
      '{"t":tru}',
      '{"f":fals}',
      '{"n":-}',
      '{"n":1.}',
      '{"n":1e}',
      '{"src_mac":1}',
      '{"src_mac":"a\\"b"}',
      '[]',
      '{"bytes":1',
    ];
    // the WebAssembly scanner alone leaves whitespace, IPv6, numbers as strings and "bogus" proto spellings
    const wasmLeaves = (l: string): boolean => /\s/.test(l) || IPV6.test(l) || l.includes('"6"');
    const t = check([...ok], kind !== 'wasm', kind);
    assert.equal(t.accepted, kind === 'wasm' ? ok.filter((l) => !wasmLeaves(l)).length : ok.length);
    const scanner = scannerOf(kind, new FlowView(nets));
    for (const l of leftToReference) {
      const [b] = pack([l], scanner.buffer);
      assert.equal(scanner.scan(b, 0, b.length), -1, l);
    }
  });

  test(`${kind}: keys one byte off a field name (compared several bytes at a time): left to the reference or read as it reads them`, () => {
    const line = flowToJson(randomRecord(rng(11)));
    const lines = [line];
    const keys = [...line.matchAll(/"([a-z_]+)":/g)];
    for (const m of keys) {
      const at = m.index! + 1;
      for (let i = 0; i <= m[1]!.length + 1; i++) {
        for (const c of ['x', '_', '"', ' ']) lines.push(line.slice(0, at + i) + c + line.slice(at + i + 1));
      }
    }
    const t = check(lines, false, kind);
    assert.ok(t.accepted >= 1 && t.accepted < lines.length, `accepted ${t.accepted} of ${lines.length}`);
    // a line cut short right after a key, at the very end of the buffer (no room for a whole word)
    for (const cut of ['{"bytes":', '{"bytes":1,"packets":', '{"type":"NETFLOW_V5","src_port":']) {
      const scanner = scannerOf(kind, new FlowView(nets));
      for (const tail of ['', '\n', '1\n', '}\n']) {
        const text = Buffer.from(cut + tail, 'latin1');
        const b = scanner.buffer ? scanner.buffer.subarray(0, text.length) : text;
        text.copy(b);
        assert.equal(scanner.scan(b, 0, b.length), -1, cut + tail);
      }
    }
  });
}
