import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Log } from '../../../lib/cli/log.js';
import { FlowDecoder } from '../../../lib/decode/decoder.js';
import { RejectCounter } from '../../../lib/rejects.js';
import { dgram } from './helpers.js';

test('the decoder reports rejects to a RejectCounter: counted by reason whatever the log prints', () => {
  let stderr = '';
  const err = new Writable({
    write(chunk, _enc, cb) {
      stderr += String(chunk);
      cb();
    },
  });
  const rejects = new RejectCounter(new Log('flow-capture', err, { perReason: 1 }));
  const dec = new FlowDecoder({ rejects });
  const ignore = (): void => {};
  dec.decode(dgram(Buffer.from([0, 42, 0, 0, 0, 0])), ignore);
  dec.decode(dgram(Buffer.from([0, 5])), ignore);
  dec.decode(dgram(Buffer.from([0, 43, 0, 0])), ignore);
  assert.equal(rejects.total, 3);
  assert.deepEqual(
    [...rejects.byReason],
    [
      ['unknown version', 2],
      ['truncated', 1],
    ],
  );
  assert.equal(dec.stats.rejected, 3);
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 2, stderr); // one per reason: the second "unknown version" is only counted
  assert.match(lines[0]!, /^flow-capture: .*: datagram header at offset 0x0: unknown version 42$/);
  assert.match(lines[1]!, /^flow-capture: .*: datagram header: 2 bytes is too short for any flow export header$/);
});
