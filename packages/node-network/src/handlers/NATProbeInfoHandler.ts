import type { NATProbeInfo } from '../NATProbeService.js';
import { UnaryHandler } from '@node-network/transport';

/** `natProbeInfo`: where this node answers NAT probes, and from which endpoints. */
class NATProbeInfoHandler extends UnaryHandler<
  { info: () => Array<NATProbeInfo> },
  {},
  { servers: Array<NATProbeInfo> }
> {
  public handle = async (): Promise<{ servers: Array<NATProbeInfo> }> => ({
    servers: this.container.info(),
  });
}

export default NATProbeInfoHandler;
