import type { AddressFamily } from '../types.js';
import type { DatagramPort } from '../DatagramPort.js';
import { describe, test, expect, beforeEach, afterEach } from '@jest/globals';
import * as errors from '../errors.js';

type DatagramPortHarness = {
  /** Two bound ports of one family that can reach each other directly. */
  createPair(family: AddressFamily): Promise<{
    a: DatagramPort;
    b: DatagramPort;
    /** Lets datagrams in flight arrive (a real network: a short sleep). */
    settle(): Promise<void>;
    destroy(): Promise<void>;
  }>;
  families?: Array<AddressFamily>;
};

/** The `DatagramPort` contract. */
function testDatagramPortCompliance(name: string, harness: DatagramPortHarness): void {
  for (const family of harness.families ?? (['ipv4', 'ipv6'] as const)) {
    describe(`DatagramPort compliance: ${name} (${family})`, () => {
      let p: Awaited<ReturnType<DatagramPortHarness['createPair']>>;
      beforeEach(async () => {
        p = await harness.createPair(family);
      });
      afterEach(async () => {
        await p.destroy();
      });

      test('delivers intact payloads with the sender as source', async () => {
        const got: Array<[Uint8Array, string, number]> = [];
        p.b.onDatagram((data, from) => got.push([new Uint8Array(data), from.host, from.port]));
        const payloads = [new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array(1200).fill(9)];
        for (const d of payloads) await p.a.send(d, p.b.localAddress);
        await p.settle();
        expect(got.map(([d]) => Buffer.from(d).toString('hex'))).toEqual(
          payloads.map((d) => Buffer.from(d).toString('hex')),
        );
        for (const [, host, port] of got) {
          expect(host).toBe(p.a.localAddress.host);
          expect(port).toBe(p.a.localAddress.port);
        }
        expect(p.a.localAddress.family).toBe(family);
      });

      test('every registered handler sees every datagram; unsubscribe stops it', async () => {
        let x = 0;
        let y = 0;
        const offX = p.b.onDatagram(() => x++);
        p.b.onDatagram(() => y++);
        await p.a.send(Uint8Array.of(1), p.b.localAddress);
        await p.settle();
        offX();
        await p.a.send(Uint8Array.of(2), p.b.localAddress);
        await p.settle();
        expect(x).toBe(1);
        expect(y).toBe(2);
      });

      test('refuses oversized datagrams, wrong families and sends after close, with typed errors', async () => {
        await expect(
          p.a.send(new Uint8Array(p.a.maxDatagramSize + 1), p.b.localAddress),
        ).rejects.toBeInstanceOf(errors.ErrorDatagramTooLarge);
        const wrong = {
          ...p.b.localAddress,
          family: family === 'ipv4' ? 'ipv6' : 'ipv4',
        } as typeof p.b.localAddress;
        await expect(p.a.send(Uint8Array.of(1), wrong)).rejects.toBeInstanceOf(
          errors.ErrorDatagramAddressInvalid,
        );
        await p.a.close();
        await p.a.close();
        expect(p.a.closed).toBe(true);
        await expect(p.a.send(Uint8Array.of(1), p.b.localAddress)).rejects.toBeInstanceOf(
          errors.ErrorDatagramPortClosed,
        );
      });

      test('a closed port receives nothing', async () => {
        let n = 0;
        p.b.onDatagram(() => n++);
        await p.b.close();
        await p.a.send(Uint8Array.of(1), p.b.localAddress).catch(() => {});
        await p.settle();
        expect(n).toBe(0);
      });
    });
  }
}

export { testDatagramPortCompliance };
export type { DatagramPortHarness };
