// flow-capture -w file names across both summer-time changes of 2026 in Europe/Berlin (CET +0100,
// CEST +0200; 2026-03-29 01:00Z the clocks go 02:00 → 03:00, 2026-10-25 01:00Z 03:00 → 02:00):
// UTC names (the default) and --local-time names with the offset never share a name between two
// intervals, and flow-report --period's reader turns every form back into the interval's start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { intervalStart, stamp } from '../../../lib/capture/rotate.js';
import { selectPeriod, stampTime } from '../../../lib/report/period.js';
import { tempDir } from '../../helpers/tmp.js';

process.env.TZ = 'Europe/Berlin'; // Node re-reads the zone when TZ is assigned

const SPRING = Date.UTC(2026, 2, 29, 1, 0);
const AUTUMN = Date.UTC(2026, 9, 25, 1, 0);
const MIN = 60_000;

/** Interval starts every `sec` seconds from 3 hours before `change` to 3 hours after. */
function startsAround(change: number, sec: number, local: boolean): number[] {
  const starts = new Set<number>();
  for (let t = change - 180 * MIN; t < change + 180 * MIN; t += 60_000) starts.add(intervalStart(t, sec, local));
  return [...starts].sort((a, b) => a - b);
}

test('the zone really is Europe/Berlin with summer time (else this test would show nothing)', () => {
  assert.equal(new Date(Date.UTC(2026, 0, 15)).getTimezoneOffset(), -60);
  assert.equal(new Date(Date.UTC(2026, 6, 15)).getTimezoneOffset(), -120);
  assert.equal(new Date(SPRING - 1).getTimezoneOffset(), -60);
  assert.equal(new Date(SPRING).getTimezoneOffset(), -120);
  assert.equal(new Date(AUTUMN - 1).getTimezoneOffset(), -120);
  assert.equal(new Date(AUTUMN).getTimezoneOffset(), -60);
});

test('the names the issue saw collide are two names now; the spring gap is skipped', () => {
  // autumn: 00:30Z and 01:30Z are both 02:30 on the wall clock
  assert.equal(stamp(AUTUMN - 30 * MIN, 300, true), '202610250230+0200');
  assert.equal(stamp(AUTUMN + 30 * MIN, 300, true), '202610250230+0100');
  assert.equal(stamp(AUTUMN - 30 * MIN, 300), '202610250030Z');
  assert.equal(stamp(AUTUMN + 30 * MIN, 300), '202610250130Z');
  // spring: 01:55 CET is followed by 03:00 CEST
  assert.equal(stamp(SPRING - 5 * MIN, 300, true), '202603290155+0100');
  assert.equal(stamp(SPRING, 300, true), '202603290300+0200');
  assert.equal(stamp(SPRING, 10, true), '20260329030000+0200');
  assert.equal(stamp(SPRING, 10), '20260329010000Z');
});

for (const [label, change] of [
  ['spring', SPRING],
  ['autumn', AUTUMN],
] as const) {
  for (const sec of [60, 300, 3600]) {
    test(`${label}, --rotate ${sec}: UTC names are unique, sort as time and read back to the start`, () => {
      const starts = startsAround(change, sec, false);
      const names = starts.map((s) => stamp(s, sec));
      assert.equal(new Set(names).size, starts.length);
      assert.deepEqual([...names].sort(), names);
      assert.deepEqual(names.map(stampTime), starts);
      for (const s of starts) assert.equal(s % (sec * 1000), 0, 'aligned to UTC');
    });

    test(`${label}, --rotate ${sec}: local names with the offset are unique and read back to the start`, () => {
      const starts = startsAround(change, sec, true);
      const names = starts.map((s) => stamp(s, sec, true));
      assert.equal(new Set(names).size, starts.length, 'no two intervals share a name');
      assert.deepEqual(names.map(stampTime), starts);
      // consecutive intervals are `sec` apart in real time, also over the change
      for (let i = 1; i < starts.length; i++) assert.equal(starts[i]! - starts[i - 1]!, sec * 1000);
      // the wall clock in the name is the local time
      for (const [i, s] of starts.entries()) {
        const d = new Date(s);
        assert.equal(
          names[i]!.slice(8, 12),
          `${String(d.getHours()).padStart(2, '0')}${String(d.getMinutes()).padStart(2, '0')}`,
        );
      }
    });
  }
}

test('--local-time --rotate 86400 starts files at local midnight, 23 and 25 hours long on the change days', () => {
  const spring = intervalStart(SPRING + 10 * 3_600_000, 86400, true);
  assert.equal(stamp(spring, 86400, true), '202603290000+0100');
  const autumn = intervalStart(AUTUMN + 10 * 3_600_000, 86400, true);
  assert.equal(stamp(autumn, 86400, true), '202610250000+0200');
  assert.equal(stamp(intervalStart(SPRING + 10 * 3_600_000, 86400), 86400), '202603290000Z');
});

test('names without a zone (written before names carried one) are read as local time', () => {
  assert.equal(stampTime('202607011200'), Date.UTC(2026, 6, 1, 10));
  assert.equal(stampTime('202601151200'), Date.UTC(2026, 0, 15, 11));
  assert.equal(stampTime('20260115120030'), Date.UTC(2026, 0, 15, 11, 0, 30));
  assert.equal(stampTime('202601151200-0530'), Date.UTC(2026, 0, 15, 17, 30));
});

test('--period last:N orders --local-time files by time through the repeated autumn hour, old and UTC names alike', () => {
  const dir = tempDir('dst-period-');
  const starts = startsAround(AUTUMN, 300, true);
  const written: string[] = [];
  for (const [i, s] of starts.entries()) {
    // a directory that went through a change of flags: UTC names, then local ones, then old ones
    const form =
      i < 10 ? stamp(s, 300) : i < starts.length - 5 ? stamp(s, 300, true) : stamp(s, 300, true).slice(0, 12);
    const name = `flows.${form}.ndjson`;
    writeFileSync(join(dir, name), '');
    written.push(name);
  }
  // the old-style names are after the change (+0100, unambiguous), so they read back
  const sel = selectPeriod(dir, { kind: 'last', count: 1000 });
  assert.deepEqual(
    sel.files.map((f) => basename(f)),
    written,
  );
  assert.equal(sel.first, starts[0]);
  assert.equal(sel.last, starts[starts.length - 1]);
  // the name order is not time order in that hour, which is why the reader sorts by time
  assert.notDeepEqual([...written].sort(), written);
});

test('--period hour picks the repeated local hour by real time (UTC and local names of one interval together)', () => {
  const dir = tempDir('dst-hour-');
  for (let t = AUTUMN - 120 * MIN; t < AUTUMN + 120 * MIN; t += 300_000)
    writeFileSync(join(dir, `flows.${stamp(t, 300, true)}.ndjson`), '');
  writeFileSync(join(dir, `flows.${stamp(AUTUMN + 5 * MIN, 300)}.r1.ndjson`), ''); // a part named in UTC
  // run at 02:10 CET (01:10Z): the previous hour is 02:00–03:00 CEST = 00:00–01:00Z
  const sel = selectPeriod(dir, { kind: 'hour' }, AUTUMN + 10 * MIN);
  const names = sel.files.map((f) => basename(f));
  assert.equal(names.length, 12);
  assert.ok(
    names.every((n) => n.includes('+0200')),
    names.join(' '),
  );
  assert.equal(names[0], 'flows.202610250200+0200.ndjson');
  const later = selectPeriod(dir, { kind: 'hour' }, AUTUMN + 70 * MIN); // 03:10 CET: 02:00–03:00 CET
  assert.deepEqual(later.files.map((f) => basename(f)).slice(0, 3), [
    'flows.202610250200+0100.ndjson',
    'flows.202610250205+0100.ndjson',
    'flows.202610250105Z.r1.ndjson',
  ]);
  assert.equal(later.files.length, 13);
});
