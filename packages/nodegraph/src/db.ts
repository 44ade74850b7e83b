// @matrixai/db 5.3.0 is CommonJS: its classes come on the default export.
import dbModule from '@matrixai/db';

const { DB } = dbModule;
const dbErrors = dbModule.errors;
type DB = InstanceType<typeof DB>;
type DBTransaction = Parameters<Parameters<DB['withTransactionF']>[0]>[0];

export { DB, dbErrors };
export type { DBTransaction };
