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
