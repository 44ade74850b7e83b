import type { NodeId } from '@node-network/network-interface';
import { test, expect } from '@jest/globals';
import fc from 'fast-check';
import * as identity from '@node-network/network-identity';
import { formatAddress } from '@node-network/network-interface';
import { addresses } from '@node-network/transport';
import { parseSeedNodes } from '../src/seeds.js';
import * as errors from '../src/errors.js';

const nodeIdArb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => identity.encodeNodeId(b as NodeId));
const addressArb = fc.oneof(
  fc
    .tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 }))
    .map(([host, port]) => ({ host, port, family: 'ipv4' as const })),
  fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
      fc.integer({ min: 1, max: 65535 }),
    )
    .map(([groups, port]) => ({
      host: groups.map((g) => g.toString(16)).join(':'),
      port,
      family: 'ipv6' as const,
    })),
);

test('seed strings NODEID@HOST:PORT round-trip, merged per NodeId in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(nodeIdArb, fc.array(addressArb, { minLength: 1, maxLength: 3 })), {
        maxLength: 5,
      }),
      (seeds) => {
        const text = seeds.flatMap(([id, addrs]) => addrs.map((a) => `${id}@${formatAddress(a)}`));
        const parsed = parseSeedNodes(text);
        // One entry per distinct NodeId, first-seen order, each address once.
        const ids = [...new Set(seeds.map(([id]) => id))];
        expect(parsed.map((p) => identity.encodeNodeId(p.nodeId))).toEqual(ids);
        for (const p of parsed) {
          const want = seeds
            .filter(([id]) => id === identity.encodeNodeId(p.nodeId))
            .flatMap(([, addrs]) =>
              addrs.map((a) => formatAddress(addresses.parseAddress(formatAddress(a)))),
            );
          expect(p.addresses.map(formatAddress)).toEqual([...new Set(want)]);
        }
        // The record form says the same.
        const record: Record<string, Array<string>> = {};
        for (const t of text) (record[t.split('@')[0]] ??= []).push(t.slice(t.indexOf('@') + 1));
        expect(parseSeedNodes(record)).toEqual(parsed);
      },
    ),
  );
});

test('anything else is refused with ErrorNodeNetworkConfig, never another error', () => {
  const id = identity.encodeNodeId(identity.generateKeyPair().publicKey as NodeId);
  for (const bad of [
    '',
    '@127.0.0.1:1',
    `${id}`,
    `${id}@`,
    `${id}@127.0.0.1`,
    `${id}@127.0.0.1:0`,
    `${id}@127.0.0.1:65536`,
    `${id}@[::1]`,
    `notanid@127.0.0.1:1314`,
    `${id}@999.1.1.1:1`,
  ]) {
    expect(() => parseSeedNodes([bad])).toThrow(errors.ErrorNodeNetworkConfig);
  }
  expect(() => parseSeedNodes({ [id]: 'x' as any })).toThrow(errors.ErrorNodeNetworkConfig);
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 80 }), { maxLength: 4 }), (xs) => {
      try {
        parseSeedNodes(xs);
      } catch (e) {
        expect(e).toBeInstanceOf(errors.ErrorNodeNetworkConfig);
      }
    }),
  );
});

test('hostnames are kept apart for resolving; malformed names are refused', () => {
  const id = identity.encodeNodeId(identity.generateKeyPair().publicKey as NodeId);
  const [s] = parseSeedNodes([
    `${id}@Seed.Example.NET:1314`,
    `${id}@localhost:7`,
    `${id}@seed.example.net:1314`,
    `${id}@127.0.0.1:7`,
  ]);
  expect(s.hostnames).toEqual([
    { host: 'seed.example.net', port: 1314 },
    { host: 'localhost', port: 7 },
  ]);
  expect(s.addresses.map(formatAddress)).toEqual(['127.0.0.1:7']);
  for (const bad of [
    '-bad.example:1',
    'a..b:1',
    'x_y.example:1',
    'seed.example:0',
    'seed.example:99999',
  ]) {
    expect(() => parseSeedNodes([`${id}@${bad}`])).toThrow(errors.ErrorNodeNetworkConfig);
  }
});
