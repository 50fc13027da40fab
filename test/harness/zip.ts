/**
 * A tiny zip writer for tests, independent of gateway/bundle: good bundles,
 * and hostile ones — every header field can be made to lie.
 *
 *   const bytes = zip([{ name: 'manifest.json', data: '{}' }, { name: '../x', data: 'y' }]);
 */
import { createHash } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipFileSpec {
  name: string;
  data: Uint8Array | string;
  /** 0 stored, 8 deflate (default), anything else is written as is (with the data stored). */
  method?: number;
  /** General-purpose flags (default 0x0800, UTF-8 names). */
  flags?: number;
  /** Unix mode in the external attributes (default 0o100644, a regular file). */
  mode?: number;
  /** Host system in "version made by" (default 3, Unix). */
  host?: number;
  crc?: number;
  /** Declared uncompressed size (default: the real one). */
  size?: number;
  /** Declared compressed size (default: the real one). */
  compressedSize?: number;
  /** The name in the local header, when it should differ from the central directory's. */
  localName?: string;
  /** The bytes written as the entry's data (default: deflated or stored `data`). */
  body?: Uint8Array;
}

export function zip(files: readonly ZipFileSpec[], opts: { declaredEntries?: number } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const data = typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : Buffer.from(f.data);
    const method = f.method ?? 8;
    const body = f.body ? Buffer.from(f.body) : method === 8 ? deflateRawSync(data) : data;
    const crc = f.crc ?? crc32(data) >>> 0;
    const flags = f.flags ?? 0x0800;
    const size = f.size ?? data.length;
    const csize = f.compressedSize ?? body.length;
    const name = Buffer.from(f.name, 'utf8');
    const localName = Buffer.from(f.localName ?? f.name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(csize, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(localName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(((f.host ?? 3) << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(csize, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((f.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, localName, body);
    centrals.push(central, name);
    offset += 30 + localName.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  const count = opts.declaredEntries ?? files.length;
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export const sha256hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** A manifest.json for `files` (a sha256 each), with one pre entry calling `exportName` in the first .wasm. */
export function manifestFor(
  files: Record<string, Uint8Array | string>,
  extra: Record<string, unknown> = {},
  exportName = 'run',
): Record<string, unknown> {
  const wasm = Object.keys(files).find((f) => f.endsWith('.wasm'));
  return {
    file_list: Object.keys(files),
    sha256: Object.fromEntries(Object.entries(files).map(([n, d]) => [n, sha256hex(d)])),
    custom_middleware: { driver: 'wasm', pre: [{ name: exportName, path: wasm }] },
    ...extra,
  };
}

/** A well-formed bundle: the manifest first, then the files. */
export function bundle(files: Record<string, Uint8Array | string>, manifest?: Record<string, unknown>): Buffer {
  return zip([
    { name: 'manifest.json', data: JSON.stringify(manifest ?? manifestFor(files)) },
    ...Object.entries(files).map(([name, data]) => ({ name, data })),
  ]);
}
