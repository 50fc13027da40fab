/**
 * The rules for the header names and values a plugin writes, in one place:
 * the result decoders (codec.ts, common-result.ts) and the worker tier's
 * `http_request` (gateway/outbound/sync.ts) all check through these.
 */
import { WasmgateError } from '../errors.ts';

/** Headers a plugin may never set, add or delete: they frame the message on the wire. */
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * A control character (every C0 character but tab, and DEL): what HTTP's
 * field-value grammar and Node's writer refuse in a header value, CR, LF
 * and NUL among them.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_IN_HEADER_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Anything but tab and printable ASCII (control characters are refused before this is asked). */
const NON_ASCII = /[^\t\x20-\x7e]/;

/**
 * A header value a plugin wrote, checked and as the wire carries it, or
 * FORBIDDEN_HEADER. Node writes header strings one byte per character
 * (Latin-1), and so do the headers the gateway receives; a plugin's value
 * beyond ASCII is turned into its UTF-8 bytes, one character each, so it
 * leaves as the UTF-8 the plugin wrote.
 */
export function checkHeaderValue(value: string, where: string): string {
  if (CONTROL_IN_HEADER_VALUE.test(value)) {
    throw new WasmgateError('FORBIDDEN_HEADER', `${where}: values may not contain control characters (CR, LF, NUL, …)`);
  }
  return NON_ASCII.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}

/** A header name a plugin wrote, checked: its lower-case form, or FORBIDDEN_HEADER. */
export function checkHeaderName(name: string, where: string): string {
  if (!TOKEN.test(name))
    throw new WasmgateError('FORBIDDEN_HEADER', `${where}: "${name.slice(0, 64)}" is not a valid header name`);
  const lower = name.toLowerCase();
  if (FORBIDDEN_HEADERS.has(lower))
    throw new WasmgateError('FORBIDDEN_HEADER', `${where}: a plugin may not change "${lower}"`);
  return lower;
}
