import { testDatagramPortCompliance } from '@node-network/network-interface/compliance';
import UDPDatagramPort from '../src/UDPDatagramPort.js';

testDatagramPortCompliance('UDPDatagramPort on loopback', {
  createPair: async (family) => {
    const host = family === 'ipv4' ? '127.0.0.1' : '::1';
    const a = await UDPDatagramPort.bind({ host });
    const b = await UDPDatagramPort.bind({ host });
    return {
      a,
      b,
      settle: () => new Promise((r) => setTimeout(r, 50)),
      destroy: async () => {
        await a.close();
        await b.close();
      },
    };
  },
});

describe('UDPDatagramPort batched receives', () => {
  test.each([true, false])(
    'a burst arrives whole and in order, each datagram a buffer of its own (recvBatch %s)',
    async (recvBatch) => {
      const a = await UDPDatagramPort.bind({ host: '127.0.0.1' });
      const b = await UDPDatagramPort.bind({
        host: '127.0.0.1',
        recvBufferSize: 4 << 20,
        recvBatch,
      });
      const got: Array<Uint8Array> = [];
      b.onDatagram((d) => got.push(d));
      try {
        const sent = Array.from({ length: 400 }, (_, i) => Buffer.alloc(1000 + (i % 300), i));
        await Promise.all(sent.map((d) => a.send(d, b.localAddress)));
        const end = Date.now() + 3000;
        while (got.length < sent.length && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 5));
        }
        // Kept buffers are not overwritten by later datagrams.
        expect(got.map((d) => Buffer.from(d).toString('hex'))).toEqual(
          sent.map((d) => d.toString('hex')),
        );
      } finally {
        await a.close();
        await b.close();
      }
    },
  );
});

test('binding many ports (a birthday punch binds up to 256) allocates no read or send buffer per port', async () => {
  const before = process.memoryUsage().arrayBuffers;
  const ports = await Promise.all(
    Array.from({ length: 128 }, () => UDPDatagramPort.bind({ host: '127.0.0.1' })),
  );
  try {
    // 4 MiB each before one buffer per thread: 512 MiB for these.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
  } finally {
    await Promise.all(ports.map((p) => p.close()));
  }
});
