import type { DefaultGatewayLookup } from './types.js';
import fs from 'node:fs/promises';
import { parseDefaultRoute } from './protocol/route.js';

/**
 * The real `DefaultGatewayLookup`: the default route's gateway from
 * /proc/net/route (this process's network namespace), or undefined where
 * there is none or the file cannot be read (not Linux).
 */
const defaultGatewayFromProc: DefaultGatewayLookup = async () => {
  let text: string;
  try {
    text = await fs.readFile('/proc/net/route', 'utf8');
  } catch {
    return undefined;
  }
  return parseDefaultRoute(text)?.gateway;
};

export default defaultGatewayFromProc;
