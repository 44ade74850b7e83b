/** One line of `avahi-browse --parsable --resolve` output. */
type AvahiBrowseLine =
  | {
      kind: 'new' | 'removed';
      iface: string;
      protocol: 'IPv4' | 'IPv6';
      instance: string;
      type: string;
    }
  | {
      kind: 'resolved';
      iface: string;
      protocol: 'IPv4' | 'IPv6';
      instance: string;
      type: string;
      host: string;
      address: string;
      port: number;
      txt: Array<string>;
    };

/** avahi's label escapes: `\.` `\\` and `\DDD` (decimal byte). */
function unescapeLabel(s: string): string | undefined {
  const bytes: Array<number> = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      bytes.push(...Buffer.from(s[i], 'utf8'));
      continue;
    }
    const d = s.slice(i + 1, i + 4);
    if (/^\d{3}$/.test(d) && Number(d) <= 255) {
      bytes.push(Number(d));
      i += 3;
    } else if (i + 1 < s.length) {
      bytes.push(...Buffer.from(s[++i], 'utf8'));
    } else return undefined;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** avahi's TXT rendering: `"a=b" "c=d"`, with `\"` and `\\` escaped inside quotes. */
function parseTxt(s: string): Array<string> | undefined {
  const out: Array<string> = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ') {
      i++;
      continue;
    }
    if (s[i] !== '"') return undefined;
    let cur = '';
    i++;
    for (;;) {
      if (i >= s.length) return undefined;
      const c = s[i];
      if (c === '\\' && i + 1 < s.length) {
        cur += s[i + 1];
        i += 2;
      } else if (c === '"') {
        i++;
        break;
      } else {
        cur += c;
        i++;
      }
    }
    out.push(cur);
  }
  return out;
}

/**
 * Parses one line of `avahi-browse -p -r`: `+;if;proto;name;type;domain`
 * (new), `-;...` (removed), `=;if;proto;name;type;domain;host;address;port;txt`
 * (resolved). Anything else (errors, other domains) gives undefined; the
 * line is untrusted text from the network, so every field is checked.
 */
function parseAvahiBrowseLine(line: string): AvahiBrowseLine | undefined {
  if (line.length > 4096) return undefined;
  const f = line.split(';');
  const tag = f[0];
  if ((tag !== '+' && tag !== '-' && tag !== '=') || f.length < 6) return undefined;
  const [, iface, protocol, rawName, type, domain] = f;
  if (protocol !== 'IPv4' && protocol !== 'IPv6') return undefined;
  if (domain !== 'local') return undefined;
  const instance = unescapeLabel(rawName);
  if (instance == null || instance === '') return undefined;
  if (tag !== '=') {
    if (f.length !== 6) return undefined;
    return { kind: tag === '+' ? 'new' : 'removed', iface, protocol, instance, type };
  }
  if (f.length < 10) return undefined;
  const host = f[6];
  const address = f[7];
  const port = Number(f[8]);
  // The TXT field may itself contain ';' inside quotes: it is everything after the port.
  const txt = parseTxt(f.slice(9).join(';'));
  if (!Number.isInteger(port) || port < 0 || port > 65535 || txt == null) return undefined;
  if (!/^[0-9a-fA-F:.]+$/.test(address)) return undefined;
  return { kind: 'resolved', iface, protocol, instance, type, host, address, port, txt };
}

export { parseAvahiBrowseLine, parseTxt, unescapeLabel };
export type { AvahiBrowseLine };
