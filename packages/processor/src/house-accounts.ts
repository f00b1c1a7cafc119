/**
 * The processor's own ledger accounts, one per kind and currency (`<kind>:<CUR>`, rule none), opened on
 * first use:
 * - `settlement` — mirrors the processor's position at the hub: credited with what it owes the hub (payments
 *   out, interchange paid), debited with what the hub owes it (payments in, interchange received, and the
 *   net settlement of each closed window).
 * - `funding` — the source of e-money issued against deposits (top-ups, vouchers, agent float).
 * - `fx` — the FX position in each currency: credited with the payer-currency cost of a conversion at the mid
 *   rate, debited with the target-currency amount sent.
 * - `fxmargin` — the FX margin earned by converting (spread and rounding remainders).
 * - `fees` — fee income: the fixed FX fee and the merchant service charge (MSC).
 * - `interchange` — interchange received from (credit) or paid to (debit) other processors.
 * - `nostro` — the processor's account at the settlement bank: the other side of each window's settlement.
 */
import type { Ledger } from '@semops/ledger';

export const HOUSE_ACCOUNT_KINDS = [
  'settlement',
  'funding',
  'fx',
  'fxmargin',
  'fees',
  'interchange',
  'nostro',
] as const;
export type HouseAccountKind = (typeof HOUSE_ACCOUNT_KINDS)[number];

/** Returns the id of the house account of a kind in a currency, opening it first if needed. */
export type HouseAccount = (currency: string) => Promise<string>;
export type HouseAccounts = Readonly<Record<HouseAccountKind, HouseAccount>>;

export function createHouseAccounts(ledger: Ledger): HouseAccounts {
  const opened = new Set<string>();
  const of =
    (kind: HouseAccountKind): HouseAccount =>
    async (currency) => {
      const id = `${kind}:${currency}`;
      if (!opened.has(id)) {
        await ledger.createAccount({ id, currency, rule: 'none', code: kind });
        opened.add(id);
      }
      return id;
    };
  return Object.fromEntries(HOUSE_ACCOUNT_KINDS.map((k) => [k, of(k)])) as unknown as HouseAccounts;
}
