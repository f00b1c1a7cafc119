/**
 * Positions and liquidity, kept in the hub's ledger. Per processor and currency:
 * - `pos:<pid>:<CUR>` (rule debits_must_not_exceed_credits): credited with the processor's prefunded
 *   liquidity and with payments it receives, debited with payments it sends (pending while reserved). The
 *   balance rule is the net debit cap: a reservation beyond the available amount is refused by the ledger.
 * - `liq:<pid>:<CUR>` (rule none): the source of deposits and the sink of withdrawals, so that liquidity
 *   is read straight from the ledger (debits − credits) and the sum of all accounts stays zero.
 * - `stl:<pid>:<CUR>` (rule none): the processor's side of each closed settlement window, booked against its
 *   liquidity: a payer's net is paid out of its prefunded liquidity (stl → liq: liquidity down by the net),
 *   a receiver's net is paid into it (liq → stl: liquidity up by the net). After settlement the position is
 *   back to zero and `available` is what it was before the close: settling moves no sending capacity, only
 *   a deposit restores it. The `stl` accounts of a currency sum to zero (the nets of every window do).
 *
 * So `liquidity` is deposits − withdrawals ± settled nets, `position` what committed transfers and
 * interchange moved since the last settlement, and the ledger's `pos` balance (credits − debits) is
 * `liquidity − position`.
 */
import { SemopsError, newId, type MoneyWireT } from '@semops/protocol';
import type { Account, Ledger } from '@semops/ledger';
import type { ParticipantService } from '../participants/service.js';

export const positionAccountId = (processorId: string, currency: string): string =>
  `pos:${processorId}:${currency}`;
export const liquidityAccountId = (processorId: string, currency: string): string =>
  `liq:${processorId}:${currency}`;
export const settlementAccountId = (processorId: string, currency: string): string =>
  `stl:${processorId}:${currency}`;

/** One processor's standing in one currency; every amount is a decimal string of minor units. */
export interface PositionView {
  readonly processorId: string;
  readonly currency: string;
  /** Deposits minus withdrawals, plus the nets received and minus the nets paid in settled windows. */
  readonly liquidity: string;
  /**
   * Net amount owed from committed transfers and interchange not yet settled: positive when the processor
   * owes, negative when owed; zero again once its settlement is booked.
   */
  readonly position: string;
  /** Sent transfers reserved but not yet committed or aborted. */
  readonly reserved: string;
  /** What the processor can still send or withdraw: liquidity − position − reserved. */
  readonly available: string;
}

export interface LiquidityInput {
  readonly processorId: string;
  readonly amount: MoneyWireT;
  readonly direction: 'deposit' | 'withdraw';
}

export interface PositionService {
  /** Opens the position, liquidity and settlement accounts per currency (idempotent). */
  openAccounts(processorId: string, currencies: readonly string[]): Promise<void>;
  /** Moves prefunded liquidity in or out; a withdrawal beyond `available` changes nothing. */
  changeLiquidity(input: LiquidityInput): Promise<PositionView>;
  list(): Promise<PositionView[]>;
  get(processorId: string, currency: string): Promise<PositionView | undefined>;
}

export interface PositionServiceDeps {
  readonly ledger: Ledger;
  readonly participants: () => ParticipantService;
}

function view(processorId: string, currency: string, pos: Account, liq: Account): PositionView {
  const liquidity = liq.debitsPosted - liq.creditsPosted;
  const posted = pos.creditsPosted - pos.debitsPosted;
  const reserved = pos.debitsPending;
  return {
    processorId,
    currency,
    liquidity: liquidity.toString(),
    position: (liquidity - posted).toString(),
    reserved: reserved.toString(),
    available: (posted - reserved).toString(),
  };
}

export function createPositionService(deps: PositionServiceDeps): PositionService {
  const { ledger } = deps;

  const get = async (processorId: string, currency: string): Promise<PositionView | undefined> => {
    const [pos, liq] = await ledger.getAccounts([
      positionAccountId(processorId, currency),
      liquidityAccountId(processorId, currency),
    ]);
    return pos && liq ? view(processorId, currency, pos, liq) : undefined;
  };

  return {
    async openAccounts(processorId, currencies) {
      const results = await ledger.executeAtomic(
        currencies.flatMap((currency) => [
          {
            kind: 'createAccount' as const,
            id: positionAccountId(processorId, currency),
            currency,
            rule: 'debits_must_not_exceed_credits' as const,
            code: 'position',
          },
          {
            kind: 'createAccount' as const,
            id: liquidityAccountId(processorId, currency),
            currency,
            rule: 'none' as const,
            code: 'liquidity',
          },
          {
            kind: 'createAccount' as const,
            id: settlementAccountId(processorId, currency),
            currency,
            rule: 'none' as const,
            code: 'settlement',
          },
        ]),
      );
      const failed = results.find((r) => !r.ok);
      if (failed && !failed.ok)
        throw new Error(`opening position accounts failed: ${failed.code} ${failed.message}`);
    },

    async changeLiquidity({ processorId, amount, direction }) {
      const p = deps.participants().get(processorId);
      if (!p) throw new SemopsError('PARTICIPANT_NOT_FOUND', `No participant ${processorId}.`);
      if (!p.currencies.includes(amount.currency)) {
        throw new SemopsError('CURRENCY_NOT_SUPPORTED', `${processorId} does not clear ${amount.currency}.`);
      }
      const pos = positionAccountId(processorId, amount.currency);
      const liq = liquidityAccountId(processorId, amount.currency);
      const [result] = await ledger.execute([
        {
          kind: 'transfer',
          id: newId('tr'),
          debitAccountId: direction === 'deposit' ? liq : pos,
          creditAccountId: direction === 'deposit' ? pos : liq,
          amount: BigInt(amount.value),
          currency: amount.currency,
          code: direction,
        },
      ]);
      if (!result?.ok) {
        if (result?.code === 'EXCEEDS_CREDITS') {
          throw new SemopsError(
            'NET_DEBIT_CAP_EXCEEDED',
            'The withdrawal exceeds the available liquidity of the processor; nothing was changed.',
          );
        }
        throw new Error(`liquidity transfer failed: ${result?.code ?? 'no result'}`);
      }
      const v = await get(processorId, amount.currency);
      if (!v) throw new Error(`position accounts of ${processorId} ${amount.currency} are missing`);
      return v;
    },

    async list() {
      const pairs = deps
        .participants()
        .list()
        .flatMap((p) => p.currencies.map((currency) => ({ processorId: p.id, currency })))
        .sort((a, b) =>
          a.processorId === b.processorId
            ? a.currency.localeCompare(b.currency)
            : a.processorId.localeCompare(b.processorId),
        );
      const accounts = new Map(
        (
          await ledger.getAccounts(
            pairs.flatMap((x) => [
              positionAccountId(x.processorId, x.currency),
              liquidityAccountId(x.processorId, x.currency),
            ]),
          )
        ).map((a) => [a.id, a]),
      );
      return pairs.flatMap(({ processorId, currency }) => {
        const pos = accounts.get(positionAccountId(processorId, currency));
        const liq = accounts.get(liquidityAccountId(processorId, currency));
        return pos && liq ? [view(processorId, currency, pos, liq)] : [];
      });
    },

    get,
  };
}
