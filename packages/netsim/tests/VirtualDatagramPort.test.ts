import { testDatagramPortCompliance } from '@node-network/network-interface/compliance';
import Network from '../src/Network.js';

let count = 0;
testDatagramPortCompliance('VirtualDatagramPort on the simulated internet', {
  createPair: async (family) => {
    const network = new Network({ seed: 7, latency: 5 });
    const i = ++count;
    const a = network.addHost({ name: `a${i}`, ipv4: '198.51.100.1', ipv6: '2001:db8::1' });
    const b = network.addHost({ name: `b${i}`, ipv4: '198.51.100.2', ipv6: '2001:db8::2' });
    const pa = network.bind(a, family);
    const pb = network.bind(b, family);
    return {
      a: pa,
      b: pb,
      settle: async () => {
        // send() hands the datagram over in a microtask; then let time pass.
        await Promise.resolve();
        network.clock.advance(100);
      },
      destroy: async () => {
        await pa.close();
        await pb.close();
      },
    };
  },
});
