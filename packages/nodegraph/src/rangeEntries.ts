import type { DB } from './db.js';
import dbModule from '@matrixai/db';

const { native, utils } = dbModule as unknown as {
  native: {
    rocksdbP: {
      iteratorInit(db: unknown, options: unknown): unknown;
      iteratorNextv(it: unknown, size: number): Promise<[Array<[Buffer, Buffer]>, boolean]>;
      iteratorClose(it: unknown): Promise<void>;
    };
  };
  utils: {
    iterationOptions(options: object, levelPath: Array<string | Buffer>): object;
    levelPathToKey(levelPath: Array<string | Buffer>): Buffer;
    decodePart(part: Buffer): Buffer;
  };
};

/**
 * Entries of `levelPath` with keys in [gte, lt), at most `limit`, in key
 * order (descending with `reverse`): the key's last part and the raw stored
 * value (still encrypted when the DB has a key: `db.deserializeDecrypt`). Straight on the
 * RocksDB iterator that @matrixai/db wraps: its `DBIterator` takes a lock
 * with a timed cancellable per entry and parses every key part (together
 * about 0.15 ms per entry), which made a 20-key range cost milliseconds.
 * Keys directly under `levelPath` only.
 */
async function rangeEntries(
  db: InstanceType<typeof DB>,
  levelPath: ReadonlyArray<string>,
  {
    gte,
    lt,
    limit,
    values = false,
    reverse = false,
  }: { gte?: Buffer; lt?: Buffer; limit: number; values?: boolean; reverse?: boolean },
): Promise<Array<[Buffer, Buffer]>> {
  // @matrixai/db keeps user data under its 'data' level.
  const path = ['data', ...levelPath];
  const prefix = utils.levelPathToKey(path).byteLength;
  const options = utils.iterationOptions({ gte, lt, limit, values, reverse }, path);
  const it = native.rocksdbP.iteratorInit((db as unknown as { db: unknown }).db, options);
  const out: Array<[Buffer, Buffer]> = [];
  try {
    while (out.length < limit) {
      const [entries, finished] = await native.rocksdbP.iteratorNextv(
        it,
        Math.min(1000, limit - out.length),
      );
      for (const [k, v] of entries) out.push([utils.decodePart(k.subarray(prefix)), v]);
      if (finished) break;
    }
  } finally {
    await native.rocksdbP.iteratorClose(it);
  }
  return out;
}

export { rangeEntries };
