// @matrixai/db 5.3.0 is CommonJS: its classes come on the default export.
import dbModule from '@matrixai/db';

const { DB } = dbModule;
type DB = InstanceType<typeof DB>;
type DBTransaction = Parameters<Parameters<DB['withTransactionF']>[0]>[0];

export { DB };
export type { DBTransaction };
