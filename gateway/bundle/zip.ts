/**
 * A strict reader for the zip files plugin bundles arrive in, written from
 * PKWARE's APPNOTE (sections 4.3.7 local header, 4.3.12 central directory
 * header, 4.3.16 end of central directory). It reads from memory only and
 * trusts nothing: every cap is checked against the central directory before
 * a byte is inflated, every inflate is bounded by the entry's declared size,
 * and every entry's CRC-32 is checked.
 *
 * Refused: ZIP64 and multi-disk archives, encrypted entries, methods other
 * than stored (0) and deflate (8), names with `..`, `.` or empty segments,
 * absolute names, backslashes or control characters, symlinks and other
 * non-regular files, duplicate names (compared case-insensitively: they
 * would collide on a case-insensitive disk), overlapping entries, and a
 * local header that disagrees with the central directory.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { BundleError } from './errors.ts';

export interface ZipLimits {
  /** The zip as uploaded (compressed). */
  maxBundleBytes: number;
  /** Sum of the declared uncompressed sizes of every entry. */
  maxUncompressedBytes: number;
  maxEntries: number;
  /** Uncompressed / compressed, for entries larger than `ratioFloorBytes`. */
  maxRatio: number;
  ratioFloorBytes: number;
}

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxBundleBytes: 20 * 1024 * 1024,
  maxUncompressedBytes: 64 * 1024 * 1024,
  maxEntries: 64,
  maxRatio: 100,
  ratioFloorBytes: 64 * 1024,
});

export interface ZipEntry {
  readonly name: string;
  readonly directory: boolean;
  readonly method: 0 | 8;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Offset of the local header. */
  readonly headerOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const METHOD_AES = 99;
const HOST_UNIX = 3;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const DOS_DIRECTORY = 0x10;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(message: string, entry?: string): BundleError {
  return new BundleError('BUNDLE_MALFORMED', message, entry);
}

/** Throws unless `name` is a relative path that stays inside the folder it is extracted to. */
export function checkEntryName(name: string): void {
  const unsafe = (why: string) => new BundleError('BUNDLE_UNSAFE_PATH', `entry "${name}" ${why}`, name);
  if (name.length === 0) throw unsafe('has an empty name');
  if (name.includes('\\')) throw unsafe('contains a backslash');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafe('is an absolute path');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) throw unsafe('contains a control character');
  const segments = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  if (segments.includes('..')) throw unsafe('climbs out of the bundle with ".."');
  if (segments.some((s) => s === '' || s === '.')) throw unsafe('has an empty or "." path segment');
}

export class ZipArchive {
  readonly #bytes: Buffer;
  readonly #dataOffsets = new Map<ZipEntry, number>();
  /** Every entry in central-directory order, directories included. */
  readonly entries: readonly ZipEntry[];

  constructor(bytes: Uint8Array, limits: Readonly<ZipLimits> = DEFAULT_ZIP_LIMITS) {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#bytes = buf;
    if (buf.length > limits.maxBundleBytes)
      throw new BundleError(
        'BUNDLE_TOO_LARGE',
        `the bundle is ${buf.length} bytes; the limit is ${limits.maxBundleBytes} compressed bytes`,
      );
    if (buf.length < 22) throw malformed('not a zip file (too short for an end of central directory record)');

    // The end record sits at the very end, after a comment of at most 65535 bytes.
    let eocd = -1;
    for (let at = buf.length - 22; at >= Math.max(0, buf.length - 22 - 0xffff); at--) {
      if (buf.readUInt32LE(at) === SIG_EOCD && at + 22 + buf.readUInt16LE(at + 20) === buf.length) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) throw malformed('not a zip file (no end of central directory record)');
    const disk = buf.readUInt16LE(eocd + 4);
    const cdDisk = buf.readUInt16LE(eocd + 6);
    const onDisk = buf.readUInt16LE(eocd + 8);
    const total = buf.readUInt16LE(eocd + 10);
    const cdSize = buf.readUInt32LE(eocd + 12);
    const cdOffset = buf.readUInt32LE(eocd + 16);
    if (disk !== 0 || cdDisk !== 0 || onDisk !== total)
      throw malformed('multi-disk (split) archives are not supported');
    if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff)
      throw malformed('ZIP64 archives are not supported');
    if (total > limits.maxEntries)
      throw new BundleError(
        'BUNDLE_TOO_MANY_ENTRIES',
        `the bundle has ${total} entries; the limit is ${limits.maxEntries}`,
      );
    if (cdOffset + cdSize !== eocd) throw malformed('the central directory does not end where the end record starts');

    const entries: ZipEntry[] = [];
    const seen = new Set<string>();
    let uncompressed = 0;
    let p = cdOffset;
    for (let i = 0; i < total; i++) {
      if (p + 46 > eocd || buf.readUInt32LE(p) !== SIG_CENTRAL)
        throw malformed(`central directory entry ${i} is truncated or has a bad signature`);
      const madeBy = buf.readUInt16LE(p + 4);
      const flags = buf.readUInt16LE(p + 8);
      const method = buf.readUInt16LE(p + 10);
      const crc = buf.readUInt32LE(p + 16);
      const compressedSize = buf.readUInt32LE(p + 20);
      const size = buf.readUInt32LE(p + 24);
      const nameLen = buf.readUInt16LE(p + 28);
      const extraLen = buf.readUInt16LE(p + 30);
      const commentLen = buf.readUInt16LE(p + 32);
      const external = buf.readUInt32LE(p + 38);
      const headerOffset = buf.readUInt32LE(p + 42);
      const next = p + 46 + nameLen + extraLen + commentLen;
      if (next > eocd) throw malformed(`central directory entry ${i} runs past the directory`);
      let name: string;
      try {
        name = utf8.decode(buf.subarray(p + 46, p + 46 + nameLen));
      } catch {
        throw new BundleError('BUNDLE_UNSAFE_PATH', `entry ${i} has a name that is not valid UTF-8`);
      }
      p = next;

      if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) || method === METHOD_AES)
        throw new BundleError('BUNDLE_ENCRYPTED', `entry "${name}" is encrypted`, name);
      if (method !== 0 && method !== 8)
        throw new BundleError(
          'BUNDLE_UNSUPPORTED_METHOD',
          `entry "${name}" uses compression method ${method}; only stored (0) and deflate (8) are accepted`,
          name,
        );
      checkEntryName(name);
      const mode = madeBy >> 8 === HOST_UNIX ? external >>> 16 : 0;
      const type = mode & S_IFMT;
      if (type === S_IFLNK) throw new BundleError('BUNDLE_SYMLINK', `entry "${name}" is a symbolic link`, name);
      if (type !== 0 && type !== S_IFREG && type !== S_IFDIR)
        throw new BundleError(
          'BUNDLE_UNSAFE_PATH',
          `entry "${name}" is not a regular file or directory (mode ${mode.toString(8)})`,
          name,
        );
      const directory = name.endsWith('/') || type === S_IFDIR || (mode === 0 && (external & DOS_DIRECTORY) !== 0);
      if (directory && size !== 0) throw malformed(`directory entry "${name}" has content`, name);
      if (method === 0 && compressedSize !== size)
        throw malformed(`stored entry "${name}" declares different compressed and uncompressed sizes`, name);
      const key = (name.endsWith('/') ? name.slice(0, -1) : name).toLowerCase();
      if (seen.has(key))
        throw new BundleError('BUNDLE_DUPLICATE_ENTRY', `entry "${name}" appears more than once`, name);
      seen.add(key);
      uncompressed += size;
      if (uncompressed > limits.maxUncompressedBytes)
        throw new BundleError(
          'BUNDLE_UNCOMPRESSED_TOO_LARGE',
          `the entries declare more than ${limits.maxUncompressedBytes} uncompressed bytes (at "${name}")`,
          name,
        );
      if (size > limits.ratioFloorBytes && size > compressedSize * limits.maxRatio)
        throw new BundleError(
          'BUNDLE_RATIO_EXCEEDED',
          `entry "${name}" expands ${compressedSize} bytes to ${size} (ratio over ${limits.maxRatio}: a zip bomb)`,
          name,
        );
      if (headerOffset + 30 > cdOffset) throw malformed(`entry "${name}" points past the file data`, name);
      entries.push(Object.freeze({ name, directory, method, crc32: crc, compressedSize, size, headerOffset }));
    }
    if (p !== eocd) throw malformed('the central directory has bytes the entry count does not account for');

    // Each local header must agree with its central entry, and no two entries may share bytes.
    const spans: { start: number; end: number; name: string }[] = [];
    for (const e of entries) {
      const at = e.headerOffset;
      if (buf.readUInt32LE(at) !== SIG_LOCAL) throw malformed(`entry "${e.name}" has no local header`, e.name);
      const flags = buf.readUInt16LE(at + 6);
      const method = buf.readUInt16LE(at + 8);
      const nameLen = buf.readUInt16LE(at + 26);
      const extraLen = buf.readUInt16LE(at + 28);
      if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))
        throw new BundleError('BUNDLE_ENCRYPTED', `entry "${e.name}" is encrypted`, e.name);
      if (method !== e.method)
        throw malformed(`entry "${e.name}": local header and central directory disagree on the method`, e.name);
      const localName = buf.subarray(at + 30, at + 30 + nameLen);
      if (!localName.equals(Buffer.from(e.name, 'utf8')))
        throw malformed(`entry "${e.name}": local header and central directory disagree on the name`, e.name);
      const data = at + 30 + nameLen + extraLen;
      if (data + e.compressedSize > cdOffset) throw malformed(`entry "${e.name}" runs past the file data`, e.name);
      this.#dataOffsets.set(e, data);
      spans.push({ start: at, end: data + e.compressedSize, name: e.name });
    }
    spans.sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++)
      if (spans[i]!.start < spans[i - 1]!.end)
        throw malformed(`entries "${spans[i - 1]!.name}" and "${spans[i]!.name}" overlap`, spans[i]!.name);
    this.entries = Object.freeze(entries);
  }

  /** Regular files only. */
  files(): ZipEntry[] {
    return this.entries.filter((e) => !e.directory);
  }

  /** The entry's content, inflated no further than its declared size, CRC-checked. */
  read(entry: ZipEntry): Buffer {
    const start = this.#dataOffsets.get(entry);
    if (start === undefined) throw new Error(`entry ${entry.name} is not from this archive`);
    const raw = this.#bytes.subarray(start, start + entry.compressedSize);
    let data: Buffer;
    if (entry.method === 0) {
      data = raw;
    } else {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
          throw new BundleError(
            'BUNDLE_UNCOMPRESSED_TOO_LARGE',
            `entry "${entry.name}" inflates past its declared ${entry.size} bytes`,
            entry.name,
          );
        throw malformed(`entry "${entry.name}" is not valid deflate data (${(err as Error).message})`, entry.name);
      }
    }
    if (data.length !== entry.size)
      throw malformed(`entry "${entry.name}" holds ${data.length} bytes, not the declared ${entry.size}`, entry.name);
    if (crc32(data) >>> 0 !== entry.crc32)
      throw new BundleError('BUNDLE_CRC_MISMATCH', `entry "${entry.name}" fails its CRC-32 check`, entry.name);
    return data;
  }
}
