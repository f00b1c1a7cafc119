/**
 * What the phone keeps about its enrolment, in IndexedDB: the device id, the access token and the device's
 * private key as a non-extractable CryptoKey (IndexedDB stores CryptoKeys as they are; the key bytes can
 * never be read back, only used to sign).
 */

export interface StoredDevice {
  readonly deviceId: string;
  readonly accessToken: string;
  readonly customer: { readonly id: string; readonly name: string; readonly currency: string };
  readonly phone: string;
  readonly processor: { readonly id: string; readonly name: string };
  readonly privateKey: CryptoKey;
  readonly publicJwk: JsonWebKey;
  readonly enrolledAt: number;
}

const DB_NAME = 'semops-wallet';
const STORE = 'device';
const KEY = 'current';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB is not available'));
  });
}

async function run<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = op(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

/** The enrolled device of this browser, if any. */
export async function loadDevice(): Promise<StoredDevice | undefined> {
  return (await run('readonly', (s) => s.get(KEY) as IDBRequest<StoredDevice | undefined>)) ?? undefined;
}

export async function saveDevice(d: StoredDevice): Promise<void> {
  await run('readwrite', (s) => s.put(d, KEY));
}

/** Forgets the device: the private key is deleted with the record. */
export async function forgetDevice(): Promise<void> {
  await run('readwrite', (s) => s.delete(KEY));
}
