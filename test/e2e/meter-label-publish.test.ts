// meter-label count --publish against a real RabbitMQ node of the test's own, read back by a
// separate amqplib consumer: the oslo.messaging v2.0 envelope, exchange and routing key, payload
// fields, samples on stdout only once confirmed; a broker restart in the middle of a run is ridden
// out; a broker that stays down ends the run with exit 75 and the rest in the spool, which the next
// run sends first; the consumer sees every sample exactly once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import { tempDir } from '../helpers/tmp.js';
import { runBin, binPath } from '../helpers/spawn.js';
import { Broker, skipWithoutRabbitmq } from '../helpers/rabbitmq.js';

const T0 = 1700000040; // a multiple of 60

function flow(t: number, src: string, dst: string, bytes: number): string {
  return JSON.stringify({
    type: 'IPFIX',
    sampler_address: '192.0.2.1',
    time_received_ns: t * 1e9,
    time_flow_start_ns: t * 1e9,
    bytes,
    packets: 1,
    src_addr: src,
    dst_addr: dst,
    etype: 'IPv4',
    proto: 'UDP',
  });
}

let broker: Broker | undefined;
after(async () => {
  await broker?.stop();
});

async function store(): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = tempDir('meter-publish-');
  const env = { METER_LABEL_DB: join(dir, 'db.json'), METER_LABEL_AMQP_PASSWORD: 'guest' };
  for (const args of [
    ['create', 'out', '--project-id', 'p1'],
    ['rule-create', 'out', '10.0.0.0/8', '--direction', 'egress'],
    ['create', 'in', '--project-id', 'p1'],
    ['rule-create', 'in', '10.0.0.0/8', '--direction', 'ingress'],
  ]) {
    const r = await runBin('meter-label', args, { env });
    assert.equal(r.code, 0, r.stderr);
  }
  return { dir, env };
}

/** A queue bound as ceilometer binds its notification queue; returns a function draining it. */
async function consumer(
  exchange: string,
  durable: boolean,
  queue: string,
): Promise<{ drain: () => Promise<amqp.GetMessage[]> }> {
  const conn = await amqp.connect(broker!.urlWithPassword());
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, 'topic', { durable, autoDelete: false });
  await ch.assertQueue(queue, { durable, autoDelete: false });
  await ch.bindQueue(queue, exchange, 'notifications.info');
  await ch.close();
  await conn.close();
  return {
    drain: async () => {
      const c = await amqp.connect(broker!.urlWithPassword());
      const k = await c.createChannel();
      const got: amqp.GetMessage[] = [];
      for (;;) {
        const m = await k.get(queue, { noAck: true });
        if (m === false) break;
        got.push(m);
      }
      await c.close();
      return got;
    },
  };
}

function notification(m: amqp.GetMessage): {
  message_id: string;
  event_type: string;
  payload: Record<string, unknown>;
} {
  const env = JSON.parse(m.content.toString('utf8')) as Record<string, string>;
  assert.deepEqual(Object.keys(env).sort(), ['oslo.message', 'oslo.version']);
  assert.equal(env['oslo.version'], '2.0');
  return JSON.parse(env['oslo.message']!);
}

test(
  'samples reach the bus as oslo.messaging notifications and reach stdout only once confirmed',
  { timeout: 300_000 },
  async (t) => {
    if (skipWithoutRabbitmq(t)) return;
    broker ??= await Broker.start();
    const { dir, env } = await store();
    const q = await consumer('neutron', false, 'ceilometer-plain');
    const input =
      [
        flow(T0, '10.1.1.1', '8.8.8.8', 100),
        flow(T0 + 5, '8.8.8.8', '10.1.1.1', 7),
        flow(T0 + 70, '10.1.1.2', '9.9.9.9', 1000),
      ].join('\n') + '\n';
    writeFileSync(join(dir, 'f.ndjson'), input);
    const plain = await runBin('meter-label', ['count', '--report-interval', '60', join(dir, 'f.ndjson')], { env });
    const r = await runBin(
      'meter-label',
      [
        'count',
        '--report-interval',
        '60',
        '--publish',
        broker.url(),
        '--spool',
        join(dir, 'spool'),
        '-v',
        join(dir, 'f.ndjson'),
      ],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, plain.stdout, 'stdout shows exactly what was sent');
    assert.match(r.stderr, /published=4 to exchange neutron with routing key notifications\.info/);
    const got = await q.drain();
    assert.equal(got.length, 4);
    for (const m of got) {
      assert.equal(m.fields.exchange, 'neutron');
      assert.equal(m.fields.routingKey, 'notifications.info');
      assert.equal(m.properties.contentType, 'application/json');
    }
    const sent = got.map(notification);
    assert.deepEqual(
      sent,
      plain.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    );
    const first = sent.find((n) => n.payload.label_name === 'out')!;
    assert.equal(first.event_type, 'l3.meter');
    assert.deepEqual(Object.keys(first.payload).sort(), [
      'bytes',
      'first_update',
      'host',
      'label_id',
      'label_name',
      'last_update',
      'pkts',
      'project_id',
      'tenant_id',
      'time',
    ]);
    assert.deepEqual(
      readdirSync(join(dir, 'spool')).filter((n) => n.startsWith('batch-')),
      [],
      'nothing left in the spool',
    );

    // the password never on the command line; a wrong one is refused with 77 and the samples kept
    let bad = await runBin('meter-label', ['count', '--publish', broker.urlWithPassword(), join(dir, 'f.ndjson')], {
      env,
    });
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /a password in the URL would be visible/);
    bad = await runBin('meter-label', ['count', '--publish', broker.url(), join(dir, 'f.ndjson')], {
      env: { ...env, METER_LABEL_AMQP_PASSWORD: undefined },
    });
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /METER_LABEL_AMQP_PASSWORD or --password-file/);
    writeFileSync(join(dir, 'pw'), 'wrong\n');
    bad = await runBin(
      'meter-label',
      [
        'count',
        '--report-interval',
        '60',
        '--publish',
        broker.url(),
        '--password-file',
        join(dir, 'pw'),
        '--spool',
        join(dir, 'spool2'),
        join(dir, 'f.ndjson'),
      ],
      { env },
    );
    assert.equal(bad.code, 77, bad.stderr);
    assert.equal(bad.stdout, '');
    assert.equal(
      readdirSync(join(dir, 'spool2')).filter((n) => n.startsWith('batch-')).length > 0,
      true,
      'kept in the spool',
    );
    writeFileSync(join(dir, 'pw'), 'guest\n');
    const again = await runBin(
      'meter-label',
      [
        'count',
        '--publish',
        broker.url(),
        '--password-file',
        join(dir, 'pw'),
        '--spool',
        join(dir, 'spool2'),
        '/dev/null',
      ],
      { env },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, plain.stdout, 'the next run sent the spooled samples');
    assert.equal((await q.drain()).length, 4);
  },
);

test(
  'broker restarted mid-run: ridden out; broker down: exit 75, spool kept, next run sends it; every sample exactly once',
  { timeout: 400_000 },
  async (t) => {
    if (skipWithoutRabbitmq(t)) return;
    broker ??= await Broker.start();
    const { dir, env } = await store();
    const url = broker.url();
    const q = await consumer('neutron_durable', true, 'ceilometer-durable'); // the first test declared `neutron` non-durable
    const spool = join(dir, 'spool');
    const windows = 6;
    const lines = (w: number): string =>
      [flow(T0 + 60 * w, '10.0.0.1', '8.8.8.8', 100 + w), flow(T0 + 60 * w + 1, '8.8.8.8', '10.0.0.1', 10 + w)].join(
        '\n',
      ) + '\n';
    writeFileSync(join(dir, 'all.ndjson'), Array.from({ length: windows }, (_, w) => lines(w)).join(''));
    const plain = await runBin(
      'meter-label',
      ['count', '--report-interval', '60', '--lateness', '0', join(dir, 'all.ndjson')],
      { env },
    );
    const expected = plain.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { message_id: string }).message_id);
    assert.equal(expected.length, 2 * windows);

    const child = spawn(
      process.execPath,
      [
        binPath('meter-label'),
        'count',
        '--report-interval',
        '60',
        '--lateness',
        '0',
        '--publish',
        url,
        '--exchange',
        'neutron_durable',
        '--amqp-durable',
        '--spool',
        spool,
        '--publish-timeout',
        '60',
        '-v',
      ],
      { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const samplesOut = (): number => out.split('\n').filter((l) => l !== '').length;
    const waitFor = async (n: number, what: string): Promise<void> => {
      const until = Date.now() + 60_000;
      while (samplesOut() < n) {
        assert.ok(Date.now() < until, `${what}: ${samplesOut()} of ${n} samples on stdout\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    child.stdin.write(lines(0) + lines(1)); // window 0 closes
    await waitFor(2, 'window 0 published');
    await broker.stopNode(); // restart in the middle of the run
    child.stdin.write(lines(2)); // window 1 closes while the broker is away
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(samplesOut(), 2, 'nothing on stdout while unconfirmed');
    await broker.startNode();
    await waitFor(4, 'window 1 published after the restart');
    await broker.stopNode(); // now it stays down past --publish-timeout
    child.stdin.write(lines(3) + lines(4) + lines(5));
    child.stdin.end();
    const code = await exited;
    assert.equal(code, 75, err);
    assert.match(err, /broker unreachable; 8 sample\(s\) kept in .*spool, sent first by the next run/);
    assert.equal(samplesOut(), 4);
    assert.ok(
      readdirSync(spool).some((n) => n.startsWith('batch-')),
      'the spool holds the rest',
    );

    await broker.startNode();
    const next = await runBin(
      'meter-label',
      ['count', '--publish', url, '--exchange', 'neutron_durable', '--amqp-durable', '--spool', spool, '/dev/null'],
      { env },
    );
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.stdout.trim().split('\n').length, 8);
    const seen = (await q.drain()).map((m) => notification(m).message_id);
    assert.deepEqual([...seen].sort(), [...expected].sort(), 'every sample exactly once');
    assert.deepEqual(
      readdirSync(spool).filter((n) => n.startsWith('batch-')),
      [],
    );
  },
);
