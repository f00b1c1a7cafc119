/**
 * `@semops/ledger`: a double-entry, two-phase, idempotent ledger.
 *
 * @example
 * import { createSqliteLedger, openDatabase } from '@semops/ledger';
 *
 * const ledger = await createSqliteLedger({ db: openDatabase('node.db') });
 * await ledger.createAccount({ id: 'acc_funding', currency: 'KES', rule: 'none', code: 'funding' });
 * await ledger.createAccount({ id: 'acc_alice', currency: 'KES', rule: 'debits_must_not_exceed_credits', code: 'customer' });
 * await ledger.transfer({ id: 'tr_1', debitAccountId: 'acc_funding', creditAccountId: 'acc_alice', amount: 10_000n, currency: 'KES' });
 *
 * @packageDocumentation
 */

export type {
  Account,
  AccountRule,
  CreateAccountCommand,
  CreateAccountInput,
  CurrencyTotals,
  Ledger,
  LedgerCommand,
  LedgerFailure,
  LedgerResult,
  LedgerSuccess,
  ListTransfersOptions,
  OpenTransaction,
  PostCommand,
  PostInput,
  Transfer,
  TransferCommand,
  TransferInput,
  TransferState,
  VoidCommand,
  VoidInput,
} from './types.js';

/**
 * The three balance rules an account can have.
 *
 * @example
 * ACCOUNT_RULES.includes(input.rule) // validate a rule read from a form or a config file
 */
export { ACCOUNT_RULES } from './types.js';

/**
 * Result codes, their messages, and the error class thrown by the convenience methods.
 *
 * @example
 * const results = await ledger.execute([cmd]);
 * if (!results[0]?.ok && results[0]?.code === 'EXCEEDS_CREDITS') showInsufficientFunds();
 */
export { LEDGER_ERROR_CODES, LEDGER_ERROR_MESSAGES, LedgerError, isLedgerErrorCode } from './errors.js';
export type { LedgerErrorCode } from './errors.js';

/**
 * The largest amount (and running sum) the ledger stores: 2^63 - 1 minor units.
 *
 * @example
 * if (amount > MAX_AMOUNT) reject('amount too large');
 */
export { MAX_AMOUNT } from './validate.js';

/**
 * Creates the SQLite ledger on the caller's database (tables prefixed `ledger_`).
 *
 * @example
 * const db = openDatabase('.semops/processor.db');
 * const ledger = await createSqliteLedger({ db, clock: () => Date.now(), maxBatch: 4096 });
 * const [r] = await ledger.execute([{ kind: 'transfer', id: 'tr_1', debitAccountId: 'acc_a',
 *   creditAccountId: 'acc_b', amount: 500n, currency: 'KES', pending: true, timeoutMs: 60_000 }]);
 * if (r?.ok) await ledger.post({ id: 'tr_1_post', pendingId: 'tr_1' });
 */
export { createSqliteLedger } from './sqlite.js';
export type { SqliteLedgerOptions } from './sqlite.js';

/**
 * Creates the PostgreSQL ledger in a schema of the caller's (tables prefixed `ledger_`). Several
 * instances, in one process or many, may share one schema.
 *
 * @example
 * const ledger = await createPostgresLedger({ pool: process.env.SEMOPS_DATABASE_URL!, schema: 'bank_a' });
 * const [r] = await ledger.execute([{ kind: 'transfer', id: 'tr_1', debitAccountId: 'acc_a',
 *   creditAccountId: 'acc_b', amount: 500n, currency: 'KES' }]);
 * await ledger.close();
 */
export { createPostgresLedger } from './postgres.js';
export type { PostgresLedgerOptions } from './postgres.js';

/**
 * A fresh, randomly named PostgreSQL schema for a test or a benchmark, and how to drop it.
 *
 * @example
 * const scratch = await createScratchSchema('postgres://postgres@127.0.0.1:5432/test');
 * const ledger = await createPostgresLedger({ pool: url, schema: scratch.schema });
 * await ledger.close();
 * await scratch.drop();
 */
export { createScratchSchema } from './postgres-scratch.js';
export type { ScratchSchema } from './postgres-scratch.js';

/**
 * Opens a SQLite file with WAL, `synchronous=FULL`, foreign keys and a 5 s busy timeout.
 *
 * @example
 * const db = openDatabase('/var/lib/semops/node.db');
 */
export { openDatabase } from './sqlite-schema.js';
