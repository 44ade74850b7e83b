/** A short, never-throwing description of untrusted input for error messages. */
function show(x: unknown, max = 64): string {
  if (typeof x === 'string') return JSON.stringify(x.length > max ? x.slice(0, max) + '…' : x);
  if (typeof x === 'number' || typeof x === 'boolean' || x == null) return String(x);
  if (x instanceof Uint8Array) return `<${x.byteLength} bytes>`;
  return `<${typeof x}>`;
}

function toBuffer(x: Uint8Array): Buffer {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

/** A fresh ArrayBuffer with exactly the bytes of `x` (webcrypto wants one). */
function toArrayBuffer(x: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(x.byteLength);
  new Uint8Array(out).set(x);
  return out;
}

export { show, toBuffer, toArrayBuffer };
