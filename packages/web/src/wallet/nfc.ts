/**
 * Web NFC (Chrome on Android): reads the first NDEF URI record of a tag or a phone's tap, which carries the
 * payment link (`semops://pay?...` or an https link with the same query).
 */

interface NdefRecord {
  readonly recordType: string;
  readonly data?: DataView;
  readonly encoding?: string;
}
interface NdefReadingEvent extends Event {
  readonly message: { readonly records: readonly NdefRecord[] };
}
interface NdefReader extends EventTarget {
  scan(opts?: { signal?: AbortSignal }): Promise<void>;
}
type NdefReaderCtor = new () => NdefReader;

/** True when the browser offers Web NFC. */
export function nfcAvailable(): boolean {
  return 'NDEFReader' in window;
}

/** Waits for one tap that carries a URI record and returns the URI. Abort with `signal`. */
export async function readNfcLink(signal: AbortSignal): Promise<string> {
  const Reader = (window as unknown as { NDEFReader: NdefReaderCtor }).NDEFReader;
  const reader = new Reader();
  await reader.scan({ signal });
  return new Promise<string>((resolve, reject) => {
    signal.addEventListener('abort', () => reject(new DOMException('NFC reading stopped', 'AbortError')));
    reader.addEventListener('readingerror', () =>
      reject(new Error('The NFC tag could not be read. Hold the phone still and try again.')),
    );
    reader.addEventListener('reading', (event) => {
      for (const record of (event as NdefReadingEvent).message.records) {
        if ((record.recordType === 'url' || record.recordType === 'absolute-url') && record.data) {
          resolve(new TextDecoder().decode(record.data));
          return;
        }
      }
      reject(new Error('This NFC tag carries no payment link.'));
    });
  });
}
