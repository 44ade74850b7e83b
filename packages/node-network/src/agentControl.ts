import type { ControlRequest } from './control.js';
import type NodeNetwork from './NodeNetwork.js';
import type { AuditQuery } from './audit/auditQuery.js';
import * as errors from './errors.js';

function optionalNumber(args: Record<string, unknown>, name: string): number | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new errors.ErrorNodeNetworkConfig(`${name} is not a finite number`);
  }
  return v;
}

/**
 * What a running agent answers on its control socket: `status` (the whole
 * picture), `explain` (`{ nodeId, limit? }`), `snapshot` (for the
 * dashboard) and `audit` (a query: `{ nodeId?, kinds?, since?, until?,
 * limit? }`). Bad arguments are errors in the reply, never a crash.
 */
function agentControl(nn: NodeNetwork): (req: ControlRequest) => Promise<unknown> {
  return async ({ command, args = {} }) => {
    switch (command) {
      case 'status':
        return nn.fullStatus();
      case 'explain': {
        if (typeof args.nodeId !== 'string') {
          throw new errors.ErrorNodeNetworkConfig('explain wants args.nodeId (NodeId text)');
        }
        return nn.explain(args.nodeId, { limit: optionalNumber(args, 'limit') });
      }
      case 'snapshot':
        return nn.snapshot();
      case 'audit': {
        const q: AuditQuery = {};
        if (args.nodeId !== undefined) {
          if (typeof args.nodeId !== 'string')
            throw new errors.ErrorNodeNetworkConfig('nodeId is not a string');
          q.nodeId = args.nodeId;
        }
        if (args.kinds !== undefined) {
          if (!Array.isArray(args.kinds) || !args.kinds.every((k) => typeof k === 'string')) {
            throw new errors.ErrorNodeNetworkConfig('kinds is not an array of strings');
          }
          q.kinds = args.kinds;
        }
        q.since = optionalNumber(args, 'since');
        q.until = optionalNumber(args, 'until');
        q.limit = optionalNumber(args, 'limit');
        return nn.queryAudit(q);
      }
      default:
        throw new Error(`Unknown command ${command.slice(0, 64)}`);
    }
  };
}

export { agentControl };
