import { ErrorMdnsCodec } from '../../errors.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './ip.js';

/** Resource record types this codec knows; any other type is kept as raw bytes. */
const RType = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, NSEC: 47, ANY: 255 } as const;

/** RFC 6762 17: an mDNS message is at most 9000 bytes. */
const maxMessageSize = 9000;
/** RFC 1035 3.1: a name is at most 255 bytes on the wire, a label at most 63. */
const maxNameLength = 255;
const maxLabelLength = 63;

type DnsQuestion = {
  /** Presentation form: labels joined by '.', '.', '\' and bytes outside 0x21-0x7e escaped as \DDD. */
  name: string;
  type: number;
  /** The top bit of the class: "unicast response requested" (RFC 6762 5.4). */
  qu: boolean;
};

type DnsRData =
  | { kind: 'A'; address: string }
  | { kind: 'AAAA'; address: string }
  | { kind: 'PTR'; name: string }
  | { kind: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { kind: 'TXT'; strings: Array<Uint8Array> }
  | { kind: 'raw'; bytes: Uint8Array };

type DnsRecord = {
  name: string;
  type: number;
  /** The top bit of the class in a response: the record replaces others of its name and type. */
  cacheFlush: boolean;
  /** Seconds; 0 is a goodbye. */
  ttl: number;
  data: DnsRData;
};

type DnsMessage = {
  id: number;
  response: boolean;
  authoritative: boolean;
  truncated: boolean;
  opcode: number;
  rcode: number;
  questions: Array<DnsQuestion>;
  answers: Array<DnsRecord>;
  authorities: Array<DnsRecord>;
  additionals: Array<DnsRecord>;
};

const classIN = 1;

function fail(message: string, offset: number): never {
  throw new ErrorMdnsCodec(message, { data: { offset } });
}

/** Splits a presentation-form name into label byte arrays (throws on bad escapes or lengths). */
function nameToLabels(name: string): Array<Uint8Array> {
  const labels: Array<Uint8Array> = [];
  if (name === '' || name === '.') return labels;
  let cur: Array<number> = [];
  let total = 1;
  const end = () => {
    if (cur.length === 0) fail(`Empty label in name ${JSON.stringify(name)}`, 0);
    if (cur.length > maxLabelLength) fail(`Label longer than ${maxLabelLength} bytes`, 0);
    total += cur.length + 1;
    labels.push(Uint8Array.from(cur));
    cur = [];
  };
  const bytes = Buffer.from(name, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x2e) {
      end();
    } else if (b === 0x5c) {
      const d = bytes.subarray(i + 1, i + 4).toString('latin1');
      if (/^\d{3}$/.test(d) && Number(d) <= 255) {
        cur.push(Number(d));
        i += 3;
      } else if (i + 1 < bytes.length) {
        cur.push(bytes[++i]);
      } else {
        fail('Name ends in a lone backslash', 0);
      }
    } else {
      cur.push(b);
    }
  }
  if (cur.length > 0) end();
  if (total > maxNameLength) fail(`Name longer than ${maxNameLength} bytes`, 0);
  return labels;
}

function labelToText(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x2e || b === 0x5c || b < 0x21 || b > 0x7e) {
      out += `\\${b.toString().padStart(3, '0')}`;
    } else out += String.fromCharCode(b);
  }
  return out;
}

/** The key names are compared by: mDNS names are case-insensitive (ASCII). */
function nameKey(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

class Reader {
  public offset = 0;
  public constructor(public readonly buf: Uint8Array) {}
  public need(n: number): void {
    if (this.offset + n > this.buf.length) fail(`Truncated: need ${n} bytes`, this.offset);
  }
  public u8(): number {
    this.need(1);
    return this.buf[this.offset++];
  }
  public u16(): number {
    this.need(2);
    const v = (this.buf[this.offset] << 8) | this.buf[this.offset + 1];
    this.offset += 2;
    return v;
  }
  public u32(): number {
    this.need(4);
    const v =
      this.buf[this.offset] * 0x1000000 +
      ((this.buf[this.offset + 1] << 16) |
        (this.buf[this.offset + 2] << 8) |
        this.buf[this.offset + 3]);
    this.offset += 4;
    return v;
  }
  public bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.slice(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  /**
   * A possibly compressed name. Every pointer must point strictly before the
   * label it replaces, so a chain of pointers always ends (no loops); the
   * name's wire length is capped at 255 bytes.
   */
  public name(): string {
    const labels: Array<string> = [];
    let pos = this.offset;
    let jumped = false;
    let length = 1;
    let limit = pos;
    for (;;) {
      if (pos >= this.buf.length) fail('Truncated name', pos);
      const len = this.buf[pos];
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= this.buf.length) fail('Truncated compression pointer', pos);
        const target = ((len & 0x3f) << 8) | this.buf[pos + 1];
        if (!jumped) this.offset = pos + 2;
        if (target >= (jumped ? limit : pos))
          fail('Compression pointer does not point backwards', pos);
        jumped = true;
        limit = target;
        pos = target;
        continue;
      }
      if ((len & 0xc0) !== 0) fail(`Unknown label type 0x${len.toString(16)}`, pos);
      if (len === 0) {
        if (!jumped) this.offset = pos + 1;
        return labels.join('.');
      }
      if (pos + 1 + len > this.buf.length) fail('Truncated label', pos);
      length += len + 1;
      if (length > maxNameLength) fail(`Name longer than ${maxNameLength} bytes`, pos);
      labels.push(labelToText(this.buf.subarray(pos + 1, pos + 1 + len)));
      pos += 1 + len;
    }
  }
}

function decodeRData(r: Reader, type: number, rdlength: number): DnsRData {
  const start = r.offset;
  r.need(rdlength);
  const end = start + rdlength;
  const done = <T>(v: T): T => {
    if (r.offset !== end) fail(`Record data of type ${type} does not fill its length`, start);
    return v;
  };
  switch (type) {
    case RType.A:
      if (rdlength !== 4) fail('A record data is not 4 bytes', start);
      return { kind: 'A', address: formatIPv4(r.bytes(4)) };
    case RType.AAAA:
      if (rdlength !== 16) fail('AAAA record data is not 16 bytes', start);
      return { kind: 'AAAA', address: formatIPv6(r.bytes(16)) };
    case RType.PTR:
      return done({ kind: 'PTR', name: r.name() });
    case RType.SRV: {
      const priority = r.u16();
      const weight = r.u16();
      const port = r.u16();
      return done({ kind: 'SRV', priority, weight, port, target: r.name() });
    }
    case RType.TXT: {
      const strings: Array<Uint8Array> = [];
      while (r.offset < end) {
        const n = r.u8();
        if (r.offset + n > end) fail('TXT string overruns its record', r.offset);
        strings.push(r.bytes(n));
      }
      return { kind: 'TXT', strings };
    }
    default:
      return { kind: 'raw', bytes: r.bytes(rdlength) };
  }
}

function decodeRecord(r: Reader): DnsRecord {
  const name = r.name();
  const type = r.u16();
  const cls = r.u16();
  const ttl = r.u32();
  const rdlength = r.u16();
  const data = decodeRData(r, type, rdlength);
  return { name, type, cacheFlush: (cls & 0x8000) !== 0, ttl, data };
}

/**
 * Decodes one DNS message. Anything malformed (truncated, oversized, bad
 * pointers, counts the bytes cannot hold, record data that does not fit its
 * length) throws `ErrorMdnsCodec`; nothing else is ever thrown.
 */
function decodeMessage(buf: Uint8Array): DnsMessage {
  if (buf.length > maxMessageSize) fail(`Message larger than ${maxMessageSize} bytes`, 0);
  const r = new Reader(buf);
  const id = r.u16();
  const flags = r.u16();
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()];
  // A question takes at least 5 bytes and a record 11: counts the rest cannot hold are lies.
  if (counts[0] * 5 + (counts[1] + counts[2] + counts[3]) * 11 > buf.length - 12) {
    fail('Section counts exceed the message', 4);
  }
  const questions: Array<DnsQuestion> = [];
  for (let i = 0; i < counts[0]; i++) {
    const name = r.name();
    const type = r.u16();
    const cls = r.u16();
    questions.push({ name, type, qu: (cls & 0x8000) !== 0 });
  }
  const section = (n: number) => Array.from({ length: n }, () => decodeRecord(r));
  const answers = section(counts[1]);
  const authorities = section(counts[2]);
  const additionals = section(counts[3]);
  return {
    id,
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    questions,
    answers,
    authorities,
    additionals,
  };
}

class Writer {
  protected chunks: Array<number> = [];
  protected names = new Map<string, number>();
  public get length(): number {
    return this.chunks.length;
  }
  public u8(v: number): void {
    this.chunks.push(v & 0xff);
  }
  public u16(v: number): void {
    this.chunks.push((v >> 8) & 0xff, v & 0xff);
  }
  public u32(v: number): void {
    this.u16(Math.floor(v / 0x10000) & 0xffff);
    this.u16(v & 0xffff);
  }
  public bytes(b: Uint8Array): void {
    for (const x of b) this.chunks.push(x);
  }
  public set16(at: number, v: number): void {
    this.chunks[at] = (v >> 8) & 0xff;
    this.chunks[at + 1] = v & 0xff;
  }
  /** A name, compressed against every name suffix written so far (exact bytes). */
  public name(name: string): void {
    const labels = nameToLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = labels
        .slice(i)
        .map((l) => Buffer.from(l).toString('hex'))
        .join('.');
      const at = this.names.get(key);
      if (at != null) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.length < 0x4000) this.names.set(key, this.length);
      this.u8(labels[i].length);
      this.bytes(labels[i]);
    }
    this.u8(0);
  }
  public result(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function encodeRData(w: Writer, rec: DnsRecord): void {
  const lenAt = w.length;
  w.u16(0);
  const d = rec.data;
  switch (d.kind) {
    case 'A': {
      const b = parseIPv4(d.address);
      if (b == null) fail(`Not an IPv4 address: ${d.address}`, 0);
      w.bytes(b);
      break;
    }
    case 'AAAA': {
      const b = parseIPv6(d.address);
      if (b == null) fail(`Not an IPv6 address: ${d.address}`, 0);
      w.bytes(b);
      break;
    }
    case 'PTR':
      w.name(d.name);
      break;
    case 'SRV':
      w.u16(d.priority);
      w.u16(d.weight);
      w.u16(d.port);
      w.name(d.target);
      break;
    case 'TXT':
      for (const s of d.strings) {
        if (s.length > 255) fail('TXT string longer than 255 bytes', 0);
        w.u8(s.length);
        w.bytes(s);
      }
      if (d.strings.length === 0) w.u8(0);
      break;
    case 'raw':
      w.bytes(d.bytes);
      break;
  }
  const len = w.length - lenAt - 2;
  if (len > 0xffff) fail('Record data longer than 65535 bytes', 0);
  w.set16(lenAt, len);
}

/** Encodes a message with name compression; throws `ErrorMdnsCodec` on bad names or an oversized result. */
function encodeMessage(m: DnsMessage): Uint8Array {
  const w = new Writer();
  w.u16(m.id);
  w.u16(
    (m.response ? 0x8000 : 0) |
      ((m.opcode & 0xf) << 11) |
      (m.authoritative ? 0x0400 : 0) |
      (m.truncated ? 0x0200 : 0) |
      (m.rcode & 0xf),
  );
  for (const n of [m.questions, m.answers, m.authorities, m.additionals]) w.u16(n.length);
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16((q.qu ? 0x8000 : 0) | classIN);
  }
  for (const rec of [...m.answers, ...m.authorities, ...m.additionals]) {
    w.name(rec.name);
    w.u16(rec.type);
    w.u16((rec.cacheFlush ? 0x8000 : 0) | classIN);
    w.u32(rec.ttl);
    encodeRData(w, rec);
  }
  if (w.length > maxMessageSize) fail(`Message larger than ${maxMessageSize} bytes`, 0);
  return w.result();
}

/** The record data in a canonical text form, to compare records (case-insensitive names). */
function rdataKey(d: DnsRData): string {
  switch (d.kind) {
    case 'A':
    case 'AAAA':
      return d.address;
    case 'PTR':
      return nameKey(d.name);
    case 'SRV':
      return `${d.priority} ${d.weight} ${d.port} ${nameKey(d.target)}`;
    case 'TXT':
      return d.strings.map((s) => Buffer.from(s).toString('hex')).join(' ');
    case 'raw':
      return Buffer.from(d.bytes).toString('hex');
  }
}

/** Whether two records are the same record (name, type and data), whatever their TTL. */
function sameRecord(a: DnsRecord, b: DnsRecord): boolean {
  return (
    a.type === b.type &&
    nameKey(a.name) === nameKey(b.name) &&
    rdataKey(a.data) === rdataKey(b.data)
  );
}

export {
  RType,
  maxMessageSize,
  decodeMessage,
  encodeMessage,
  nameKey,
  nameToLabels,
  rdataKey,
  sameRecord,
};
export type { DnsMessage, DnsQuestion, DnsRecord, DnsRData };
