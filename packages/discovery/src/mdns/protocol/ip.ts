import { formatIPv6 } from '@node-network/network-interface';

/** Dotted-quad text to 4 bytes, or undefined when it is not one. */
function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** IPv6 text (no zone; `::` and a trailing dotted quad allowed) to 16 bytes, or undefined. */
function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length > 45 || text.includes('%')) return undefined;
  let body = text;
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(body.slice(lastColon + 1));
    if (v4 == null) return undefined;
    const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
    body = `${body.slice(0, lastColon + 1)}${hex(v4[0], v4[1])}:${hex(v4[2], v4[3])}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): Array<number> | undefined => {
    if (s === '') return [];
    const out: Array<number> = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groupsOf(halves[0]);
  const right = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (left == null || right == null) return undefined;
  const total = left.length + right.length;
  let groups: Array<number>;
  if (halves.length === 2) {
    if (total > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - total).fill(0), ...right];
  } else {
    if (total !== 8) return undefined;
    groups = left;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** Whether an IPv6 literal is link-local (fe80::/10): usable only with its interface as zone. */
function isLinkLocalIPv6(host: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(host);
}

export { parseIPv4, parseIPv6, formatIPv4, formatIPv6, isLinkLocalIPv6 };
