/** Who a customer sends money to or asks money from: a phone number or `name@processor-id`. */
import { ApiError, messageOf } from '../shared/api';

/** `+43 664 100-0101` → `+436641000101`; `Ben@mno-b` stays; anything else is an error message. */
export function readPerson(text: string): { value: string } | { error: string } {
  const t = text.trim();
  if (!t) return { error: 'Enter a phone number (+43…) or a name@processor address.' };
  if (t.includes('@')) {
    if (/^[^@\s]{1,64}@[a-z0-9][a-z0-9.-]{0,62}$/i.test(t)) return { value: t };
    return { error: 'Write the address as name@processor, such as ben@mno-b.' };
  }
  const phone = t.replace(/[\s().-]/g, '');
  if (/^\+[1-9]\d{6,14}$/.test(phone)) return { value: phone };
  if (/^0\d{6,14}$/.test(phone))
    return { error: 'Start the phone number with + and the country code, such as +43.' };
  return { error: 'Enter a phone number with its country code (+43…) or a name@processor address.' };
}

/**
 * The message for a failed call. A route the processor does not have answers the generic NOT_FOUND (a
 * missing customer, request or payment has its own code), so say the feature is not offered there.
 */
export function unavailable(e: unknown, what: string): string {
  if (e instanceof ApiError && e.code === 'NOT_FOUND')
    return `${what} is not available at your processor yet.`;
  return messageOf(e);
}
