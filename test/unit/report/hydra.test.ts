import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GoodMap, ObjectMap, hydraLine, HydraError } from '../../../lib/report/hydra.js';
import { rowFromAggregate } from '../../../lib/report/record.js';
import { tempDir } from '../../helpers/tmp.js';

const ab = (o: Record<string, unknown>) =>
  rowFromAggregate({
    src_host: '10.5.10.6',
    dst_net: '0.0.0.0',
    dst_mask: 0,
    packets: 3,
    bytes: 900,
    flows: 1,
    time_start: 1291242554,
    time_end: 1291242554,
    ...o,
  });

test('the example line of flowmeter-record(5)', () => {
  assert.equal(
    hydraLine(ab({}), { goodId: 'c39501' })!.text,
    'c39501;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;',
  );
});

test('zero bytes: no line; hosts on both sides need --direction', () => {
  assert.equal(hydraLine(ab({ bytes: 0 }), {}), undefined);
  const both = rowFromAggregate({ src_host: '10.0.0.1', dst_host: '10.0.0.2', packets: 1, bytes: 5, flows: 1 });
  assert.throws(() => hydraLine(both, {}), HydraError);
  assert.equal(hydraLine(both, { direction: 'ba' })!.direction, 'ba');
});

test('maps: longest prefix of the remote side gives the service, the local side the object', () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'g'),
    '# comment\nab 0.0.0.0/0 inet_out\nab 192.168.0.0/16 local_out # peering\nba 0.0.0.0/0 inet_in\nany ::/0 v6\n',
  );
  writeFileSync(join(dir, 'o'), '10.5.0.0/16 core\n10.5.10.0/24 sw10\n');
  const good = GoodMap.load(join(dir, 'g'));
  const object = ObjectMap.load(join(dir, 'o'));
  assert.equal(
    hydraLine(ab({ dst_net: '192.168.3.0', dst_mask: 24 }), { goodMap: good, objectMap: object })!
      .text.split(';')
      .slice(0, 2)
      .join(';'),
    'local_out;sw10',
  );
  assert.equal(hydraLine(ab({}), { goodMap: good, objectMap: object })!.text.split(';')[0], 'inet_out');
  const ba = rowFromAggregate({
    src_net: '8.8.8.0',
    src_mask: 24,
    dst_host: '10.5.20.1',
    packets: 1,
    bytes: 10,
    flows: 1,
  });
  assert.equal(
    hydraLine(ba, { goodMap: good, objectMap: object })!.text,
    'inet_in;core;0;0;8.8.8.0/24;10.5.20.1/32;10;',
  );
});

test('map errors name file:line', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'g'), 'ab 10.0.0.0/8 x\nsideways 0.0.0.0/0 y\n');
  assert.throws(() => GoodMap.load(join(dir, 'g')), /g:2: direction must be ab, ba or any/);
  writeFileSync(join(dir, 'o'), '10.0.0.0/8\n');
  assert.throws(() => ObjectMap.load(join(dir, 'o')), /o:1: expected "NETWORK OBJECT_CODE"/);
});

test('map ids are what Hydra ids look like: anything else is refused with file:line', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'g'), 'ab 10.0.0.0/8 inet_out\nab 0.0.0.0/0 =1+2\n');
  assert.throws(
    () => GoodMap.load(join(dir, 'g')),
    /g:2: bad service id "=1\+2": expected an id of letters, digits, "-", "_" and "\." \(like c39501\)/,
  );
  writeFileSync(join(dir, 'o'), '10.5.0.0/16 sw-10.core_a\n10.6.0.0/16 @SUM(A1)\n');
  assert.throws(() => ObjectMap.load(join(dir, 'o')), /o:2: bad object code "@SUM\(A1\)": expected an id of letters/);
});
