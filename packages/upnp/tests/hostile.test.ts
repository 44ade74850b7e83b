/**
 * PortMapper against gateways that refuse, lie, stall or never answer: fakes
 * on 127.0.0.1 (see fakeGateway.ts). Well-behaved gateways are the real
 * miniupnpd's job (miniupnpd.test.ts).
 */
import type { PortMapperConfig, PortMappingAttempt, PortMappingMethod } from '../src/types.js';
import { describe, test, expect, afterEach } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import Logger, { LogLevel } from '@matrixai/logger';
import { errors as baseErrors } from '@node-network/network-interface';
import PortMapper from '../src/PortMapper.js';
import * as errors from '../src/errors.js';
import * as events from '../src/events.js';
import { decodeNatPmpRequest, encodeNatPmpResponse } from '../src/protocol/natpmp.js';
import { decodePcpRequest, encodePcpResponse } from '../src/protocol/pcp.js';
import { encodeSsdpResponse } from '../src/protocol/ssdp.js';
import { FakeIgd, FakeUdpServer, sleep, wellBehaved } from './fakeGateway.js';

const logger = new Logger('hostile', LogLevel.SILENT);
const fast = {
  discoveryTimeoutMs: 300,
  answerTimeoutMs: 50,
  requestTimeoutMs: 300,
  mappingTimeoutMs: 1000,
  retryAfterExpiryMs: 500,
};
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A NAT-PMP gateway: external address 7.7.7.1, maps as asked, unless `map` says otherwise. */
function natPmpGateway({
  externalAddress = () => '7.7.7.1',
  map,
}: {
  externalAddress?: (n: number) => string | Uint8Array | undefined;
  map?: (
    req: { internalPort: number; externalPort: number; lifetimeSeconds: number },
    n: number,
  ) => Uint8Array | undefined;
} = {}): Promise<FakeUdpServer> {
  let maps = 0;
  return FakeUdpServer.start((data, n) => {
    const req = decodeNatPmpRequest(data);
    if (req == null) return undefined;
    if (req.op === 'external-address') {
      const a = externalAddress(n);
      if (a == null || typeof a !== 'string') return a;
      return encodeNatPmpResponse({
        ok: true,
        op: 'external-address',
        epoch: 100,
        externalAddress: a,
      });
    }
    const custom = map?.(req, ++maps);
    if (custom !== undefined || map != null) return custom;
    return encodeNatPmpResponse({
      ok: true,
      op: 'map',
      protocol: req.protocol,
      epoch: 100,
      internalPort: req.internalPort,
      externalPort: req.lifetimeSeconds === 0 ? 0 : req.externalPort || req.internalPort,
      lifetimeSeconds: req.lifetimeSeconds,
    });
  }).then((s) => {
    cleanup.push(() => s.close());
    return s;
  });
}

/** A closed UDP port on loopback (the kernel answers ICMP port unreachable). */
async function closedPort(): Promise<number> {
  const s = await FakeUdpServer.start(() => undefined);
  s.close();
  return s.port;
}

async function mapper({
  natpmp,
  pcp,
  igd,
  methods,
  config = {},
}: {
  natpmp?: FakeUdpServer;
  pcp?: FakeUdpServer;
  igd?: FakeIgd;
  methods?: Array<PortMappingMethod>;
  config?: Partial<PortMapperConfig>;
}) {
  const m = new PortMapper({
    config: {
      methods: methods ?? [
        ...(pcp != null ? (['pcp'] as const) : []),
        ...(natpmp != null ? (['natpmp'] as const) : []),
        ...(igd != null ? (['upnp'] as const) : []),
      ],
      gateway: '127.0.0.1',
      natPmpPort: natpmp?.port ?? (await closedPort()),
      pcpPort: pcp?.port ?? (await closedPort()),
      ssdp: { host: '127.0.0.1', port: igd?.ssdp.port ?? (await closedPort()) },
      lifetimeSeconds: 60,
      ...fast,
      ...config,
    },
    logger,
  });
  const attempts: Array<PortMappingAttempt> = [];
  const seen: Array<Event> = [];
  m.addEventListener(events.EventPortMapperAttempt.name, (e: Event) =>
    attempts.push((e as events.EventPortMapperAttempt).detail),
  );
  for (const E of [
    events.EventPortMapperRenewed,
    events.EventPortMapperRenewFailed,
    events.EventPortMapperExternalAddressChanged,
    events.EventPortMapperUnmapped,
  ]) {
    m.addEventListener(E.name, (e: Event) => seen.push(e));
  }
  cleanup.push(() => m.stop());
  return { m, attempts, seen };
}

/** Polls until `f` returns something, or fails after `timeoutMs`. */
async function until<T>(f: () => T | undefined, timeoutMs = 3000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Resolves with the error `p` rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

const request = { internalPort: 40000, protocol: 'udp' as const };

describe('NAT-PMP gateways that misbehave', () => {
  test('refuses the mapping: ErrorUPnPMappingRefused with the result code', async () => {
    const gw = await natPmpGateway({
      map: () =>
        encodeNatPmpResponse({ ok: false, op: 'map', protocol: 'udp', resultCode: 2, epoch: 1 }),
    });
    const { m, attempts } = await mapper({ natpmp: gw });
    await m.start();
    expect(m.gateways()).toEqual([
      { method: 'natpmp', available: true, gateway: '127.0.0.1', externalAddress: '7.7.7.1' },
    ]);
    const e = await rejection(m.map(request));
    expect(e).toBeInstanceOf(errors.ErrorUPnPMappingRefused);
    expect(e.data).toEqual({ method: 'natpmp', code: 2, reason: 'Not Authorized/Refused' });
    expect(attempts.map((a) => [a.action, a.outcome, a.error?.code])).toEqual([
      ['discover', 'ok', undefined],
      ['map', 'failed', 2],
    ]);
    expect(m.mappings()).toEqual([]);
  });

  test('refuses at discovery: NAT-PMP is unavailable, and map says why', async () => {
    const gw = await natPmpGateway({
      externalAddress: () =>
        encodeNatPmpResponse({ ok: false, op: 'external-address', resultCode: 3, epoch: 1 }),
    });
    const { m } = await mapper({ natpmp: gw });
    await m.start();
    expect(m.gateways()[0]).toMatchObject({
      available: false,
      error: { name: 'ErrorUPnPMappingRefused', code: 3 },
    });
    expect(m.externalAddress()).toBeUndefined();
    const e = await rejection(m.map(request));
    expect(e).toBeInstanceOf(errors.ErrorUPnPNoGateway);
    expect(e.message).toMatch(/NAT-PMP: NAT-PMP gateway refused .* 3 \(Network Failure\)/);
  });

  test('lies about the external address (private, or not an address): refused, unless allowed', async () => {
    const gw = await natPmpGateway({ externalAddress: () => '192.168.1.1' });
    const a = await mapper({ natpmp: gw });
    await a.m.start();
    expect(a.m.gateways()[0]).toMatchObject({
      available: false,
      error: { name: 'ErrorUPnPExternalAddressNotPublic' },
    });
    const b = await mapper({ natpmp: gw, config: { allowNonPublicExternalAddress: true } });
    await b.m.start();
    expect(b.m.externalAddress()).toBe('192.168.1.1');
    // A mapping whose answer then claims a private address is deleted again, not kept.
    gw.received.length = 0;
    const c = await mapper({
      natpmp: await natPmpGateway({ externalAddress: (n) => (n === 1 ? '7.7.7.1' : '10.0.0.1') }),
    });
    await c.m.start();
    const e = await rejection(c.m.map(request));
    expect(e).toBeInstanceOf(errors.ErrorUPnPExternalAddressNotPublic);
    expect(e.data).toEqual({ method: 'natpmp', externalAddress: '10.0.0.1' });
    expect(c.attempts.map((x) => [x.action, x.outcome])).toEqual([
      ['discover', 'ok'],
      ['map', 'failed'],
      ['unmap', 'ok'],
    ]);
    const garbage = await mapper({
      natpmp: await natPmpGateway({
        externalAddress: () => Uint8Array.from([0, 128, 0, 0, 0, 0, 0, 1, 7, 7]),
      }),
    });
    await garbage.m.start();
    expect(garbage.m.gateways()[0].error).toMatchObject({ name: 'ErrorUPnPResponseInvalid' });
  });

  test('answers for another port, or with garbage: ErrorUPnPResponseInvalid', async () => {
    const other = await natPmpGateway({
      map: (req) =>
        encodeNatPmpResponse({
          ok: true,
          op: 'map',
          protocol: 'udp',
          epoch: 1,
          internalPort: req.internalPort + 1,
          externalPort: 1234,
          lifetimeSeconds: 60,
        }),
    });
    const a = await mapper({ natpmp: other });
    await a.m.start();
    expect(await rejection(a.m.map(request))).toBeInstanceOf(errors.ErrorUPnPResponseInvalid);
    const junk = await natPmpGateway({
      map: () => Uint8Array.from(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')),
    });
    const b = await mapper({ natpmp: junk });
    await b.m.start();
    const e = await rejection(b.m.map(request));
    expect(e).toBeInstanceOf(errors.ErrorUPnPResponseInvalid);
    expect(e.message).toMatch(/version 72/);
  });

  test('grants another port and a shorter lease than asked: the mapping says what was granted', async () => {
    const gw = await natPmpGateway({
      map: (req) =>
        encodeNatPmpResponse({
          ok: true,
          op: 'map',
          protocol: 'udp',
          epoch: 1,
          internalPort: req.internalPort,
          externalPort: req.lifetimeSeconds === 0 ? 0 : 50123,
          lifetimeSeconds: req.lifetimeSeconds === 0 ? 0 : 30,
        }),
    });
    const { m } = await mapper({ natpmp: gw });
    await m.start();
    const mapping = await m.map({ ...request, lifetimeSeconds: 600 });
    expect(mapping).toMatchObject({
      method: 'natpmp',
      externalAddress: '7.7.7.1',
      externalPort: 50123,
      lifetimeSeconds: 30,
    });
  });

  test('never answers: start is done within the discovery budget, after resends at 50 ms doubling', async () => {
    const gw = await natPmpGateway({ externalAddress: () => undefined });
    const { m } = await mapper({ natpmp: gw });
    const t0 = performance.now();
    await m.start();
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(1000);
    await sleep(50); // let the last datagram land
    expect(gw.received.length).toBe(3); // at 0, 50, 150 ms (the next, at 350, is past the 300 ms budget)
    expect(m.gateways()[0]).toMatchObject({
      available: false,
      error: { name: 'ErrorUPnPGatewayTimeout' },
    });
  });

  test('nothing listens on the port: unreachable at once (ICMP), not a timeout', async () => {
    const { m } = await mapper({ methods: ['natpmp'], config: { discoveryTimeoutMs: 3000 } });
    const t0 = performance.now();
    await m.start();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(m.gateways()[0]).toMatchObject({
      available: false,
      error: { name: 'ErrorUPnPGatewayUnreachable' },
    });
  });

  test('answers slowly: resends cover it; a mapping that never comes is a timeout within the budget', async () => {
    const gw = await natPmpGateway({
      externalAddress: (n) => (n < 3 ? undefined : '7.7.7.1'), // answers the third send only
      map: () => undefined,
    });
    const { m } = await mapper({ natpmp: gw });
    await m.start();
    expect(m.externalAddress()).toBe('7.7.7.1');
    const t0 = performance.now();
    const e = await rejection(m.map(request));
    expect(e).toBeInstanceOf(errors.ErrorUPnPGatewayTimeout);
    expect(performance.now() - t0).toBeLessThan(1000); // requestTimeoutMs 300
  });

  test('cancellation: map and start reject with ErrorCancelled as soon as the signal aborts', async () => {
    const gw = await natPmpGateway({ map: () => undefined });
    const { m } = await mapper({ natpmp: gw });
    await m.start();
    const t0 = performance.now();
    const e = await rejection(m.map(request, { signal: AbortSignal.timeout(60) }));
    expect(e).toBeInstanceOf(baseErrors.ErrorCancelled);
    expect(performance.now() - t0).toBeLessThan(250); // requestTimeoutMs is 300
    const mute = await natPmpGateway({ externalAddress: () => undefined });
    const { m: m2 } = await mapper({ natpmp: mute, config: { discoveryTimeoutMs: 5000 } });
    const t1 = performance.now();
    expect(await rejection(m2.start({ signal: AbortSignal.timeout(60) }))).toBeInstanceOf(
      baseErrors.ErrorCancelled,
    );
    expect(performance.now() - t1).toBeLessThan(1000);
  });

  test('renewals refused, then the external address moves: events, and the mapping is kept', async () => {
    let mode: 'ok' | 'refuse' | 'moved' = 'ok';
    const gw = await natPmpGateway({
      externalAddress: () => (mode === 'moved' ? '7.7.7.99' : '7.7.7.1'),
      map: (req) =>
        mode === 'refuse'
          ? encodeNatPmpResponse({ ok: false, op: 'map', protocol: 'udp', resultCode: 4, epoch: 1 })
          : encodeNatPmpResponse({
              ok: true,
              op: 'map',
              protocol: 'udp',
              epoch: 1,
              internalPort: req.internalPort,
              externalPort: req.lifetimeSeconds === 0 ? 0 : req.internalPort,
              lifetimeSeconds: req.lifetimeSeconds,
            }),
    });
    const { m, seen } = await mapper({ natpmp: gw });
    await m.start();
    await m.map({ ...request, lifetimeSeconds: 2 }); // renewal due after 1 s
    mode = 'refuse';
    const failed = (await until(() =>
      seen.find((e) => e instanceof events.EventPortMapperRenewFailed),
    )) as events.EventPortMapperRenewFailed;
    expect(failed.detail.error).toBeInstanceOf(errors.ErrorUPnPMappingRefused);
    expect(failed.detail.expired).toBe(false);
    expect(failed.detail.retryInMs).toBeGreaterThanOrEqual(400);
    expect(m.mappings()).toHaveLength(1);
    mode = 'moved';
    const renewed = (await until(() =>
      seen.find((e) => e instanceof events.EventPortMapperRenewed),
    )) as events.EventPortMapperRenewed;
    expect(renewed.detail.mapping.externalAddress).toBe('7.7.7.99');
    expect(renewed.detail.previous.externalAddress).toBe('7.7.7.1');
    const moved = seen.filter(
      (e) => e instanceof events.EventPortMapperExternalAddressChanged,
    ) as Array<events.EventPortMapperExternalAddressChanged>;
    expect(moved.map((e) => [e.detail.previous, e.detail.current])).toEqual([
      [undefined, '7.7.7.1'],
      ['7.7.7.1', '7.7.7.99'],
    ]);
    expect(m.externalAddress()).toBe('7.7.7.99');
  });

  test('stop when the gateway no longer answers: done within the request budget, the failure reported', async () => {
    let answering = true;
    const gw = await natPmpGateway({
      map: (req) =>
        !answering
          ? undefined
          : encodeNatPmpResponse({
              ok: true,
              op: 'map',
              protocol: 'udp',
              epoch: 1,
              internalPort: req.internalPort,
              externalPort: req.internalPort,
              lifetimeSeconds: req.lifetimeSeconds,
            }),
    });
    const { m, seen } = await mapper({ natpmp: gw });
    await m.start();
    await m.map(request);
    answering = false;
    const t0 = performance.now();
    await m.stop();
    expect(performance.now() - t0).toBeLessThan(1000);
    const unmapped = seen.find(
      (e) => e instanceof events.EventPortMapperUnmapped,
    ) as events.EventPortMapperUnmapped;
    expect(unmapped.detail.error).toBeInstanceOf(errors.ErrorUPnPGatewayTimeout);
  });
});

describe('PCP gateways that misbehave', () => {
  test('a NAT-PMP-only gateway: PCP is skipped (UNSUPP_VERSION), NAT-PMP maps, and the audit says so', async () => {
    const natpmp = await natPmpGateway();
    // Answers PCP the way a NAT-PMP-only server does: in NAT-PMP format, result 1.
    const pcp = await FakeUdpServer.start(() => Uint8Array.from([0, 128, 0, 1, 0, 0, 0, 1]));
    cleanup.push(() => pcp.close());
    const { m, attempts } = await mapper({ pcp, natpmp });
    await m.start();
    expect(m.gateways().map((g) => [g.method, g.available])).toEqual([
      ['pcp', false],
      ['natpmp', true],
    ]);
    expect(m.gateways()[0].error?.message).toMatch(/speaks NAT-PMP only/);
    expect((await m.map(request)).method).toBe('natpmp');
    expect(
      attempts.filter((a) => a.action === 'discover').map((a) => [a.method, a.outcome]),
    ).toEqual(
      expect.arrayContaining([
        ['pcp', 'failed'],
        ['natpmp', 'ok'],
      ]),
    );
  });

  test('refuses MAP (NOT_AUTHORIZED): the next method maps; alone, the refusal is the error', async () => {
    const pcp = await FakeUdpServer.start((data) => {
      const req = decodePcpRequest(data);
      if (req == null) return undefined;
      if (req.opcode === 'announce')
        return encodePcpResponse({ ok: true, opcode: 'announce', lifetimeSeconds: 0, epoch: 1 });
      return encodePcpResponse({
        ok: false,
        opcode: 'map',
        resultCode: 2,
        lifetimeSeconds: 30,
        epoch: 1,
        nonce: req.nonce,
      });
    });
    cleanup.push(() => pcp.close());
    const natpmp = await natPmpGateway();
    const both = await mapper({ pcp, natpmp });
    await both.m.start();
    const mapping = await both.m.map(request);
    expect(mapping.method).toBe('natpmp');
    expect(
      both.attempts
        .filter((a) => a.action === 'map')
        .map((a) => [a.method, a.outcome, a.error?.code]),
    ).toEqual([
      ['pcp', 'failed', 2],
      ['natpmp', 'ok', undefined],
    ]);
    const alone = await mapper({ pcp });
    await alone.m.start();
    const e = await rejection(alone.m.map({ ...request, internalPort: 40001 }));
    expect(e).toBeInstanceOf(errors.ErrorUPnPMappingRefused);
    expect(e.data).toEqual({ method: 'pcp', code: 2, reason: 'NOT_AUTHORIZED' });
    // Both methods failing: one error naming each.
    const pcp2 = await mapper({ pcp, natpmp: await natPmpGateway({ map: () => undefined }) });
    await pcp2.m.start();
    const both2 = await rejection(pcp2.m.map({ ...request, internalPort: 40002 }));
    expect(both2).toBeInstanceOf(errors.ErrorUPnPMappingFailed);
    expect(both2.data.attempts.map((a: any) => [a.method, a.name])).toEqual([
      ['pcp', 'ErrorUPnPMappingRefused'],
      ['natpmp', 'ErrorUPnPGatewayTimeout'],
    ]);
  });

  test('answers with another nonce only: not ours, ignored, so a timeout', async () => {
    const pcp = await FakeUdpServer.start((data) => {
      const req = decodePcpRequest(data);
      if (req == null) return undefined;
      if (req.opcode === 'announce')
        return encodePcpResponse({ ok: true, opcode: 'announce', lifetimeSeconds: 0, epoch: 1 });
      return encodePcpResponse({
        ok: true,
        opcode: 'map',
        lifetimeSeconds: 60,
        epoch: 1,
        nonce: new Uint8Array(12).fill(7),
        protocol: req.protocol,
        internalPort: req.internalPort,
        externalPort: req.internalPort,
        externalAddress: '7.7.7.1',
      });
    });
    cleanup.push(() => pcp.close());
    const { m } = await mapper({ pcp });
    await m.start();
    expect(await rejection(m.map(request))).toBeInstanceOf(errors.ErrorUPnPGatewayTimeout);
  });
});

describe('UPnP gateways that misbehave', () => {
  async function igd(o: Parameters<typeof FakeIgd.start>[0] = {}): Promise<FakeIgd> {
    const g = await FakeIgd.start(o);
    cleanup.push(() => g.close());
    return g;
  }

  test('a well-formed fake, for reference: discovered, external address learned', async () => {
    const g = await igd();
    const { m } = await mapper({ igd: g });
    await m.start();
    expect(m.gateways()[0]).toEqual({
      method: 'upnp',
      available: true,
      gateway: `http://127.0.0.1:${g.httpPort}/ctl/IPConn`,
      externalAddress: '7.7.7.1',
    });
  });

  test('SSDP: silence is a timeout within budget; an answer pointing at another host is refused', async () => {
    const silent = await igd({ ssdpAnswer: () => undefined });
    const a = await mapper({ igd: silent });
    const t0 = performance.now();
    await a.m.start();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(a.m.gateways()[0].error).toMatchObject({ name: 'ErrorUPnPGatewayTimeout' });
    const elsewhere = await igd({
      ssdpAnswer: () =>
        encodeSsdpResponse({
          location: 'http://127.0.0.2:5000/rootDesc.xml',
          st: 'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
        }),
    });
    const b = await mapper({ igd: elsewhere });
    await b.m.start();
    expect(b.m.gateways()[0].error?.message).toMatch(/LOCATION on another host/);
    expect(elsewhere.descriptionGets).toBe(0);
  });

  test('description: garbage XML, a huge body, a body that never ends: typed errors, in time', async () => {
    const garbage = await igd({
      description: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/xml' });
        res.end('<root><device><serviceList><service>');
      },
    });
    const a = await mapper({ igd: garbage });
    await a.m.start();
    expect(a.m.gateways()[0].error).toMatchObject({ name: 'ErrorUPnPResponseInvalid' });

    let sent = 0;
    const huge = await igd({
      description: async (res) => {
        res.writeHead(200, { 'Content-Type': 'text/xml' }); // no Content-Length: chunked, endless
        const chunk = Buffer.alloc(64 * 1024, 'a');
        while (!res.destroyed && sent < 50 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) await new Promise((r) => res.once('drain', r).once('close', r));
        }
        res.end();
      },
    });
    const b = await mapper({ igd: huge, config: { maxResponseBytes: 128 * 1024 } });
    await b.m.start();
    expect(b.m.gateways()[0].error).toMatchObject({ name: 'ErrorUPnPResponseTooLarge' });
    expect(sent).toBeLessThan(8 * 1024 * 1024); // stopped reading early, not after 50 MB

    const declared = await igd({
      description: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/xml', 'Content-Length': String(1e9) });
        res.write('<root>');
      },
    });
    const c = await mapper({ igd: declared });
    await c.m.start();
    expect(c.m.gateways()[0].error).toMatchObject({ name: 'ErrorUPnPResponseTooLarge' });

    const trickle = await igd({
      description: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/xml' });
        res.write('<root>'); // and nothing more
      },
    });
    const d = await mapper({ igd: trickle });
    const t0 = performance.now();
    await d.m.start();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(d.m.gateways()[0].error).toMatchObject({ name: 'ErrorUPnPGatewayTimeout' });
  });

  test('SOAP: refusal codes, a garbage or private external address, a silent control URL', async () => {
    const refusing = await igd({
      soap: (action, args) =>
        action.endsWith('PortMapping')
          ? { fault: 718, description: 'ConflictInMappingEntry' }
          : wellBehaved(action, args),
    });
    const a = await mapper({ igd: refusing });
    await a.m.start();
    const e = await rejection(a.m.map(request));
    expect(e).toBeInstanceOf(errors.ErrorUPnPMappingRefused);
    expect(e.data).toEqual({ method: 'upnp', code: 718, reason: 'ConflictInMappingEntry' });

    const notAnAddress = await igd({
      soap: (action, args) =>
        action === 'GetExternalIPAddress'
          ? { values: [['NewExternalIPAddress', '7.7.7.1; rm -rf /']] }
          : wellBehaved(action, args),
    });
    const b = await mapper({ igd: notAnAddress });
    await b.m.start();
    expect(b.m.gateways()[0].error?.message).toMatch(/not an IPv4 address/);

    const privateAddress = await igd({
      soap: (action, args) =>
        action === 'GetExternalIPAddress'
          ? { values: [['NewExternalIPAddress', '100.64.3.4']] }
          : wellBehaved(action, args),
    });
    const c = await mapper({ igd: privateAddress });
    await c.m.start();
    expect(c.m.gateways()[0].error).toMatchObject({ name: 'ErrorUPnPExternalAddressNotPublic' });

    const html = await igd({
      soap: () => ({ raw: '<html><body>Login required</body></html>', status: 401 }),
    });
    const d = await mapper({ igd: html });
    await d.m.start();
    expect(d.m.gateways()[0].error?.message).toMatch(/HTTP 401/);

    const silentControl = await igd({
      soap: (action, args) =>
        action === 'GetExternalIPAddress' ? wellBehaved(action, args) : 'hang',
    });
    const f = await mapper({ igd: silentControl });
    await f.m.start();
    const t0 = performance.now();
    expect(await rejection(f.m.map(request))).toBeInstanceOf(errors.ErrorUPnPGatewayTimeout);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test('AddAnyPortMapping reserves another port: reported as granted; a garbage port is refused', async () => {
    const other = await igd({
      soap: (action, args) =>
        action === 'AddAnyPortMapping'
          ? { values: [['NewReservedPort', 50001]] }
          : wellBehaved(action, args),
    });
    const a = await mapper({ igd: other });
    await a.m.start();
    expect(await a.m.map(request)).toMatchObject({
      method: 'upnp',
      externalPort: 50001,
      internalPort: 40000,
    });
    await a.m.stop();
    expect(other.soapCalls.at(-1)).toMatchObject({ action: 'DeletePortMapping' });
    expect(other.soapCalls.at(-1)!.args.get('NewExternalPort')).toBe('50001');

    const garbage = await igd({
      soap: (action, args) =>
        action === 'AddAnyPortMapping'
          ? { values: [['NewReservedPort', '99999']] }
          : wellBehaved(action, args),
    });
    const b = await mapper({ igd: garbage });
    await b.m.start();
    expect(await rejection(b.m.map(request))).toBeInstanceOf(errors.ErrorUPnPResponseInvalid);
  });

  test('only permanent leases (725): mapped without a lease, said in the log, deleted at stop', async () => {
    const permanent = await igd({
      soap: (action, args) =>
        action === 'AddAnyPortMapping' && args.get('NewLeaseDuration') !== '0'
          ? { fault: 725, description: 'OnlyPermanentLeasesSupported' }
          : wellBehaved(action, args),
    });
    const { m } = await mapper({ igd: permanent });
    await m.start();
    expect(await m.map(request)).toMatchObject({
      method: 'upnp',
      externalPort: 40000,
      lifetimeSeconds: 60,
    });
    expect(
      permanent.soapCalls
        .filter((c) => c.action === 'AddAnyPortMapping')
        .map((c) => c.args.get('NewLeaseDuration')),
    ).toEqual(['60', '0']);
    await m.stop();
    expect(permanent.soapCalls.at(-1)?.action).toBe('DeletePortMapping');
  });
});

describe('no gateway at all', () => {
  test('no default route: PCP and NAT-PMP unavailable at once, map rejects ErrorUPnPNoGateway', async () => {
    const m = new PortMapper({
      config: { methods: ['pcp', 'natpmp'], ...fast },
      defaultGateway: async () => undefined,
      logger,
    });
    cleanup.push(() => m.stop());
    const t0 = performance.now();
    await m.start();
    expect(performance.now() - t0).toBeLessThan(250);
    expect(m.gateways().map((g) => g.error?.name)).toEqual([
      'ErrorUPnPNoGateway',
      'ErrorUPnPNoGateway',
    ]);
    const e = await rejection(m.map(request));
    expect(e).toBeInstanceOf(errors.ErrorUPnPNoGateway);
    expect(e.message).toMatch(/No default IPv4 gateway/);
  });

  test('a gateway that was mute at start: map fails at once, then rediscovers once rediscoverAfterMs has passed', async () => {
    let awake = false;
    const gw = await natPmpGateway({ externalAddress: () => (awake ? '7.7.7.1' : undefined) });
    const { m, attempts } = await mapper({ natpmp: gw, config: { rediscoverAfterMs: 400 } });
    await m.start();
    awake = true;
    const t0 = performance.now();
    expect(await rejection(m.map(request))).toBeInstanceOf(errors.ErrorUPnPNoGateway);
    expect(performance.now() - t0).toBeLessThan(100); // no second discovery yet
    await sleep(450);
    expect(await m.map(request)).toMatchObject({ method: 'natpmp', externalAddress: '7.7.7.1' });
    expect(attempts.map((a) => `${a.action} ${a.outcome}`)).toEqual([
      'discover failed',
      'discover ok',
      'map ok',
    ]);
  });

  test('bad settings and requests are ErrorUPnPConfig; calls before start are ErrorUPnPNotRunning', async () => {
    expect(
      await rejection(new PortMapper({ config: { methods: [] }, logger }).start()),
    ).toBeInstanceOf(errors.ErrorUPnPConfig);
    expect(
      await rejection(new PortMapper({ config: { gateway: 'router.local' }, logger }).start()),
    ).toBeInstanceOf(errors.ErrorUPnPConfig);
    const m = new PortMapper({
      config: { methods: ['natpmp'], ...fast },
      defaultGateway: async () => undefined,
      logger,
    });
    expect(() => m.externalAddress()).toThrow(errors.ErrorUPnPNotRunning);
    await m.start();
    cleanup.push(() => m.stop());
    for (const bad of [
      { internalPort: 0, protocol: 'udp' },
      { internalPort: 70000, protocol: 'udp' },
      { internalPort: 4000, protocol: 'sctp' },
      { internalPort: 4000, protocol: 'udp', lifetimeSeconds: 1 },
      { internalPort: 4000, protocol: 'udp', externalPort: -1 },
    ]) {
      expect(await rejection(m.map(bad as any))).toBeInstanceOf(errors.ErrorUPnPConfig);
    }
  });
});
