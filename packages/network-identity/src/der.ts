import { ErrorCertificateMalformed } from './errors.js';

/**
 * The few DER operations certificate checks need on raw bytes: walking a
 * TBSCertificate's extensions and removing one while keeping every other
 * byte as it was. (Generic ASN.1 libraries re-encode what they parse, and
 * some lose object identifiers with arcs above 2^53, such as 2.25 UUID arcs.)
 */

type Tlv = { tag: number; start: number; headerLength: number; length: number; end: number };

function readTlv(buf: Uint8Array, offset: number, limit = buf.byteLength): Tlv {
  if (offset + 2 > limit) throw new ErrorCertificateMalformed('DER truncated');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f)
    throw new ErrorCertificateMalformed('DER high tag numbers are not supported');
  let len = buf[offset + 1];
  let headerLength = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || offset + 2 + n > limit) {
      throw new ErrorCertificateMalformed('DER length is malformed');
    }
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[offset + 2 + i];
    if (len < 0x80 || buf[offset + 2] === 0) {
      throw new ErrorCertificateMalformed('DER length is not minimal');
    }
    headerLength += n;
  }
  const end = offset + headerLength + len;
  if (end > limit) throw new ErrorCertificateMalformed('DER length exceeds its container');
  return { tag, start: offset, headerLength, length: len, end };
}

function children(buf: Uint8Array, parent: Tlv): Array<Tlv> {
  const out: Array<Tlv> = [];
  for (let o = parent.start + parent.headerLength; o < parent.end;) {
    const t = readTlv(buf, o, parent.end);
    out.push(t);
    o = t.end;
  }
  return out;
}

function lengthBytes(n: number): Array<number> {
  if (n < 0x80) return [n];
  const bytes: Array<number> = [];
  for (let x = n; x > 0; x >>>= 8) bytes.unshift(x & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function wrap(tag: number, content: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...lengthBytes(content.byteLength), ...content]);
}

function concat(parts: Array<Uint8Array>): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** DER content bytes of an OBJECT IDENTIFIER in dotted form (any arc size). */
function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map((a) => BigInt(a));
  const first = arcs[0] * 40n + arcs[1];
  const out: Array<number> = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const groups: Array<number> = [];
    let x = arc;
    do {
      groups.unshift(Number(x & 0x7fn));
      x >>= 7n;
    } while (x > 0n);
    for (let i = 0; i < groups.length - 1; i++) groups[i] |= 0x80;
    out.push(...groups);
  }
  return Uint8Array.from(out);
}

type RawExtension = { oid: Uint8Array; value: Uint8Array; tlv: Tlv };

/** The extensions of a DER TBSCertificate, with their raw OIDs and OCTET STRING contents. */
function tbsExtensions(tbs: Uint8Array): {
  exts: Array<RawExtension>;
  seq?: Tlv;
  wrapper?: Tlv;
  top: Tlv;
} {
  const top = readTlv(tbs, 0);
  if (top.tag !== 0x30 || top.end !== tbs.byteLength) {
    throw new ErrorCertificateMalformed('TBSCertificate is not one SEQUENCE');
  }
  const wrapper = children(tbs, top).find((c) => c.tag === 0xa3);
  if (wrapper == null) return { exts: [], top };
  const seqs = children(tbs, wrapper);
  if (seqs.length !== 1 || seqs[0].tag !== 0x30) {
    throw new ErrorCertificateMalformed('Extensions are malformed');
  }
  const exts = children(tbs, seqs[0]).map((ext) => {
    const parts = children(tbs, ext);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (
      ext.tag !== 0x30 ||
      parts.length < 2 ||
      parts.length > 3 ||
      oid.tag !== 0x06 ||
      value.tag !== 0x04
    ) {
      throw new ErrorCertificateMalformed('Extension is malformed');
    }
    return {
      oid: tbs.subarray(oid.start + oid.headerLength, oid.end),
      value: tbs.subarray(value.start + value.headerLength, value.end),
      tlv: ext,
    };
  });
  return { exts, seq: seqs[0], wrapper, top };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/** The extension with `oid`, or undefined; a repeated extension is malformed. */
function findExtension(tbs: Uint8Array, oid: string): Uint8Array | undefined {
  const want = encodeOid(oid);
  const found = tbsExtensions(tbs).exts.filter((e) => bytesEqual(e.oid, want));
  if (found.length > 1) throw new ErrorCertificateMalformed(`Extension ${oid} is repeated`);
  return found[0]?.value;
}

/** The TBSCertificate re-encoded without the extension `oid`; every other byte unchanged. */
function tbsWithoutExtension(tbs: Uint8Array, oid: string): Uint8Array {
  const want = encodeOid(oid);
  const { exts, seq, wrapper, top } = tbsExtensions(tbs);
  if (seq == null || wrapper == null) return tbs;
  const kept = exts
    .filter((e) => !bytesEqual(e.oid, want))
    .map((e) => tbs.subarray(e.tlv.start, e.tlv.end));
  const newSeq = wrap(0x30, concat(kept));
  const newWrapper = wrap(0xa3, newSeq);
  const body = concat([
    tbs.subarray(top.start + top.headerLength, wrapper.start),
    newWrapper,
    tbs.subarray(wrapper.end, top.end),
  ]);
  return wrap(0x30, body);
}

/** Content of a DER OCTET STRING. */
function octetStringContent(der: Uint8Array): Uint8Array {
  const t = readTlv(der, 0);
  if (t.tag !== 0x04 || t.end !== der.byteLength) {
    throw new ErrorCertificateMalformed('Expected an OCTET STRING');
  }
  return der.subarray(t.headerLength, t.end);
}

export { readTlv, encodeOid, findExtension, tbsWithoutExtension, octetStringContent };
