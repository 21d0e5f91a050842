import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection, Msg } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { startNats, type TestNats } from '../../helpers/nats.js';
import { waitFor } from '../../helpers/wait.js';
import { findNatsServer, freePort, startNatsServer, waitForLeafnodes, type RunningNatsServer } from '../../../src/natsd/index.js';
import { inboxPrefixFor } from '../../../src/natsd/permissions.js';

/** Collects the asynchronous permission errors nats-server sends a connection. */
function serverErrors(nc: NatsConnection): string[] {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message));
  })();
  return errors;
}

const settle = () => new Promise((r) => setTimeout(r, 400));

describe('NATS identities: what each datacenter may publish, call and read (enforced by nats-server)', () => {
  let nats: TestNats;
  let hub: NatsConnection;
  let jsm: JetStreamManager;
  /** What the primary's agent received on the subjects a secondary must not reach as someone else. */
  const received: string[] = [];

  before(async () => {
    nats = await startNats({ datacenters: ['dc1', 'dc2', 'dc3'] });
    hub = await nats.connect('dc1');
    jsm = await jetstreamManager(hub, { domain: 'dc1' });
    await jsm.streams.add({ name: 'TRELLIS_EVENTS', subjects: ['trellis.events.>'] });
    await jetstream(hub, { domain: 'dc1' }).publish('trellis.events.log.started', 'genesis');
    const record = (_e: unknown, m: Msg) => {
      received.push(m.subject);
      if (m.reply) m.respond('signed');
    };
    hub.subscribe('trellis.rpc.dc1.ca.sign.*', { callback: record });
    await hub.flush();
  });
  after(async () => {
    await hub.close();
    await nats.stop();
  });

  it('no anonymous access: a connection without credentials, or with a wrong password, is refused', async () => {
    const url = nats.servers.get('dc1')!.url;
    const tls = { caFile: nats.tls.caFile };
    await assert.rejects(connect({ servers: url, tls, reconnect: false }), /Authorization Violation/i);
    await assert.rejects(connect({ servers: url, tls, user: 'dc1', pass: 'guess', reconnect: false }), /Authorization Violation/i);
  });

  it('TLS is required: a plain-text client is refused, and the certificate is verified against the CA', async () => {
    const { user, password } = nats.access.get('dc1')!.agent;
    await assert.rejects(connect({ servers: nats.servers.get('dc1')!.url, user, pass: password, reconnect: false }), /certificate|TLS/i);
  });

  it("dc2's agent credentials cannot publish to trellis.events.>, call the primary as dc3, or read dc3's inbox: refused by dc2's server", async () => {
    const nc2 = await nats.connect('dc2');
    const errors = serverErrors(nc2);
    try {
      const before = (await jsm.streams.info('TRELLIS_EVENTS')).state.last_seq;
      nc2.publish('trellis.events.intention.forged', 'x');
      nc2.publish('trellis.rpc.dc1.ca.sign.dc3', 'x');
      nc2.subscribe('_INBOX.dc3.>');
      await nc2.flush();
      await settle();
      assert.ok(errors.some((e) => /Permissions Violation for Publish to "trellis.events.intention.forged"/.test(e)), errors.join('; '));
      assert.ok(errors.some((e) => /Permissions Violation for Publish to "trellis.rpc.dc1.ca.sign.dc3"/.test(e)), errors.join('; '));
      assert.ok(errors.some((e) => /Permissions Violation for Subscription to "_INBOX.dc3.>"/.test(e)), errors.join('; '));
      assert.equal((await jsm.streams.info('TRELLIS_EVENTS')).state.last_seq, before, 'nothing reached the stream');
      assert.ok(!received.includes('trellis.rpc.dc1.ca.sign.dc3'));
      // Under its own name it works: the request crosses the leafnode link and is answered.
      assert.equal((await waitFor(() => nc2.request('trellis.rpc.dc1.ca.sign.dc2', 'csr', { timeout: 1000 }))).string(), 'signed');
    } finally {
      await nc2.close();
    }
  });

  it("a compromised dc2 (its own server reconfigured, dc2's leafnode password stolen from its config) still cannot cross the hub's boundary", async () => {
    // The attacker owns dc2's machine: it reads the leafnode URL (with dc2's password) from dc2's
    // nats-server config and runs a server of its own with no permissions at all.
    const dc2Config = readFileSync(nats.servers.get('dc2')!.configPath, 'utf8');
    const leafUrl = /"(nats-leaf:\/\/dc2-leaf:[^"]+)"/.exec(dc2Config)?.[1];
    assert.ok(leafUrl, 'the leaf URL is in the config');
    const hubMonitor = nats.servers.get('dc1')!.monitorUrl;
    const rogue: RunningNatsServer = await startNatsServer({
      spec: { name: 'rogue', domain: 'rogue', clientPort: await freePort(), httpPort: await freePort(), storeDir: join(nats.dir, 'rogue', 'js'), leafRemotes: [leafUrl], tls: nats.tls },
      dir: join(nats.dir, 'rogue'),
      bin: findNatsServer(process.env),
    });
    // Replies come back to dc2's inbox only, so the attacker uses that prefix for its own requests.
    const evil = await connect({ servers: rogue.url, tls: { caFile: nats.tls.caFile }, inboxPrefix: inboxPrefixFor('dc2') });
    try {
      await waitForLeafnodes(hubMonitor, 3);
      const stolen: string[] = [];
      evil.subscribe('_INBOX.dc3.>', { callback: (_e, m) => void stolen.push(m.subject) });
      evil.subscribe('trellis.rpc.dc3.>', { callback: (_e, m) => void stolen.push(m.subject) });
      await evil.flush();
      await settle();
      const before = (await jsm.streams.info('TRELLIS_EVENTS')).state.last_seq;

      evil.publish('trellis.events.intention.forged', 'forged');
      evil.publish('trellis.rpc.dc1.ca.sign.dc3', 'as dc3');
      await assert.rejects(evil.request('$JS.dc1.API.STREAM.PURGE.TRELLIS_EVENTS', '', { timeout: 500 }));
      await assert.rejects(evil.request('$JS.dc1.API.STREAM.DELETE.TRELLIS_EVENTS', '', { timeout: 500 }));
      hub.publish(`${inboxPrefixFor('dc3')}.secret`, 'for dc3 only');
      hub.publish('trellis.rpc.dc3.catalog.query.dc1', 'for dc3 only');
      await hub.flush();
      // Control: the same link carries what dc2 may send, so the refusals above are the hub's.
      const answer = await waitFor(() => evil.request('trellis.rpc.dc1.ca.sign.dc2', 'csr', { timeout: 1000 }));
      assert.equal(answer.string(), 'signed');
      await settle();

      const info = await jsm.streams.info('TRELLIS_EVENTS');
      assert.equal(info.state.last_seq, before, 'no forged event');
      assert.equal(info.state.messages, before, 'no purge');
      assert.ok(!received.includes('trellis.rpc.dc1.ca.sign.dc3'), 'the primary never saw a request as dc3');
      assert.deepEqual(stolen, [], "dc3's inbox and requests never reached dc2's link");
    } finally {
      await evil.close();
      await rogue.stop();
    }
  });

  it('the read-only credentials read the stream but cannot append to it or delete it', async () => {
    const reader = await nats.connect('dc1', 'reader');
    const errors = serverErrors(reader);
    try {
      const rjsm = await jetstreamManager(reader, { domain: 'dc1' });
      assert.equal((await rjsm.streams.info('TRELLIS_EVENTS')).config.name, 'TRELLIS_EVENTS');
      reader.publish('trellis.events.intention.forged', 'x');
      await assert.rejects(rjsm.streams.delete('TRELLIS_EVENTS'));
      await reader.flush();
      await settle();
      assert.ok(errors.some((e) => /Permissions Violation for Publish to "trellis.events.intention.forged"/.test(e)), errors.join('; '));
      assert.ok(errors.some((e) => /Permissions Violation for Publish to "\$JS\.(dc1\.)?API\.STREAM\.DELETE\.TRELLIS_EVENTS"/.test(e)), errors.join('; '));
      assert.equal((await jsm.streams.info('TRELLIS_EVENTS')).config.name, 'TRELLIS_EVENTS');
    } finally {
      await reader.close();
    }
  });

  it('credentials files are 0600 and contain no other datacenter secrets; server configs hold only bcrypt hashes', () => {
    for (const [dc, access] of nats.access) {
      for (const role of ['agent', 'reader'] as const) {
        assert.equal(statSync(access[role].file).mode & 0o777, 0o600, `${dc} ${role}`);
      }
      const config = readFileSync(nats.servers.get(dc)!.configPath, 'utf8');
      assert.ok(!config.includes(access.agent.password), `${dc}'s config does not contain its agent password`);
      assert.match(config, /password: "\$2[aby]\$10\$/);
    }
  });
});
