/** The simulator page's calls to the simulator server that served it (`packages/cli/src/simulator`). */
import { ApiError, api } from '../shared/api';

export interface DemoPhone {
  readonly phone: string;
  readonly name: string;
  readonly processorId: string;
}

export interface SimulatorSetup {
  readonly serviceCode: string;
  readonly smsNumber: string;
  readonly processors: ReadonlyArray<{ readonly id: string; readonly name: string }>;
  readonly phones: readonly DemoPhone[];
}

export interface UssdAnswer {
  readonly sessionId: string;
  readonly processorId?: string;
  readonly status: 'CON' | 'END';
  readonly text: string;
}

export interface InboxMessage {
  readonly id: string;
  readonly processorId: string;
  readonly from: string;
  readonly text: string;
  readonly createdAt: number;
}

/** Same as `api`, with a message about the simulator (not a processor) when it cannot be reached. */
async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await api<T>(method, path, body === undefined ? {} : { body });
  } catch (e) {
    if (e instanceof ApiError && e.code === 'NETWORK') {
      throw new ApiError('NETWORK', 'Cannot reach the phone simulator. Is the demo still running?', 0);
    }
    throw e;
  }
}

export const simulatorApi = {
  setup: () => call<SimulatorSetup>('GET', '/api/phones'),
  sms: (from: string, text: string) =>
    call<{ processorId: string; replies: string[] }>('POST', '/api/sms', { from, text }),
  ussd: (sessionId: string, from: string, text: string) =>
    call<UssdAnswer>('POST', '/api/ussd', { sessionId, from, text }),
  inbox: (phone: string) =>
    call<{ phone: string; messages: InboxMessage[] }>(
      'GET',
      `/api/sms/inbox?phone=${encodeURIComponent(phone)}`,
    ),
};

/** A fresh id for a dialled USSD session. */
export function newSessionId(): string {
  return `s_${crypto.randomUUID().replace(/-/g, '')}`;
}
