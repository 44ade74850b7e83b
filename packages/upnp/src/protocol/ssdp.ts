/**
 * SSDP (UPnP Device Architecture 1.1 §1.3) search for Internet Gateway
 * Devices: the M-SEARCH request and the unicast `HTTP/1.1 200 OK` answers,
 * both directions (the gateway side serves the tests). Answers are capped at
 * `maxSsdpBytes`; anything malformed throws `ErrorUPnPResponseInvalid`.
 */
import { ErrorUPnPResponseInvalid, ErrorUPnPResponseTooLarge } from '../errors.js';

const ssdpMulticast = { host: '239.255.255.250', port: 1900 };
const maxSsdpBytes = 8192;

/** What we search for; IGDv2 devices also answer the v1 search (UDA's backward compatibility). */
const igdSearchTargets = [
  'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
  'urn:schemas-upnp-org:device:InternetGatewayDevice:2',
];

type SsdpSearchResponse = {
  /** The device description's URL (http:). */
  location: string;
  /** The search target answered. */
  st: string;
  usn?: string;
  server?: string;
};

function invalid(reason: string): ErrorUPnPResponseInvalid<{ method: string; reason: string }> {
  return new ErrorUPnPResponseInvalid(`SSDP: ${reason}`, { data: { method: 'upnp', reason } });
}

function latin1(data: Uint8Array): string {
  let s = '';
  for (let i = 0; i < data.length; i += 4096) {
    s += String.fromCharCode(...data.subarray(i, i + 4096));
  }
  return s;
}

function ascii(text: string): Uint8Array {
  const b = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i) & 0xff;
  return b;
}

function encodeMSearch({
  searchTarget,
  mx = 1,
  host = `${ssdpMulticast.host}:${ssdpMulticast.port}`,
}: {
  searchTarget: string;
  mx?: number;
  host?: string;
}): Uint8Array {
  return ascii(
    `M-SEARCH * HTTP/1.1\r\nHOST: ${host}\r\nMAN: "ssdp:discover"\r\nMX: ${mx}\r\nST: ${searchTarget}\r\n\r\n`,
  );
}

/** Splits a message into its start line and headers (names lowercased, first occurrence kept). */
function parseMessage(text: string): { start: string; headers: Map<string, string> } {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text)) throw invalid('control characters');
  const end = text.search(/\r?\n\r?\n/);
  const head = end === -1 ? text : text.slice(0, end);
  const lines = head.split(/\r?\n/);
  const start = lines[0];
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw invalid('a header line without a name');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
      throw invalid('a header name that is not a token');
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { start, headers };
}

/** Client side: one answer to an M-SEARCH. Throws `ErrorUPnPResponseInvalid`. */
function decodeSsdpResponse(data: Uint8Array): SsdpSearchResponse {
  if (!(data instanceof Uint8Array)) throw invalid('not bytes');
  if (data.length > maxSsdpBytes) {
    throw new ErrorUPnPResponseTooLarge(`SSDP: ${data.length} bytes, over ${maxSsdpBytes}`, {
      data: { method: 'upnp', reason: 'too large' },
    });
  }
  const { start, headers } = parseMessage(latin1(data));
  if (!/^HTTP\/1\.[01] 200(?: .*)?$/i.test(start)) {
    throw invalid(`not a search answer: ${JSON.stringify(start.slice(0, 40))}`);
  }
  const location = headers.get('location');
  const st = headers.get('st');
  if (location == null || location === '') throw invalid('no LOCATION');
  if (st == null || st === '') throw invalid('no ST');
  if (location.length > 1024) throw invalid('LOCATION longer than 1024 characters');
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw invalid(`LOCATION is not a URL: ${JSON.stringify(location.slice(0, 80))}`);
  }
  if (url.protocol !== 'http:') throw invalid(`LOCATION is not http: (${url.protocol})`);
  if (url.hostname === '') throw invalid('LOCATION has no host');
  if (url.username !== '' || url.password !== '') throw invalid('LOCATION carries credentials');
  return { location: url.href, st, usn: headers.get('usn'), server: headers.get('server') };
}

/** Gateway side: the search target of an M-SEARCH, or undefined for anything else. */
function decodeMSearch(data: Uint8Array): { st: string } | undefined {
  if (data.length > maxSsdpBytes) return undefined;
  try {
    const { start, headers } = parseMessage(latin1(data));
    if (!/^M-SEARCH \* HTTP\/1\.1$/i.test(start)) return undefined;
    const st = headers.get('st');
    return st != null && st !== '' ? { st } : undefined;
  } catch {
    return undefined;
  }
}

/** Gateway side: a unicast search answer. */
function encodeSsdpResponse({
  location,
  st,
  usn = `uuid:00000000-0000-0000-0000-000000000000::${st}`,
  server = 'node-network-test/1.0 UPnP/1.1',
}: {
  location: string;
  st: string;
  usn?: string;
  server?: string;
}): Uint8Array {
  return ascii(
    `HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nEXT:\r\nLOCATION: ${location}\r\nSERVER: ${server}\r\nST: ${st}\r\nUSN: ${usn}\r\n\r\n`,
  );
}

/** Whether an answer's ST names an IGD or one of its WAN devices or connection services. */
function isGatewaySearchTarget(st: string): boolean {
  return /^urn:schemas-upnp-org:(device:(InternetGatewayDevice|WANDevice|WANConnectionDevice)|service:(WANIPConnection|WANPPPConnection)):[0-9]+$/.test(
    st,
  );
}

export {
  ssdpMulticast,
  maxSsdpBytes,
  igdSearchTargets,
  encodeMSearch,
  decodeSsdpResponse,
  decodeMSearch,
  encodeSsdpResponse,
  isGatewaySearchTarget,
};
export type { SsdpSearchResponse };
