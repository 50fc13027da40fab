/**
 * A reader for the parts of the WebAssembly binary format the upload pipeline
 * checks before metering and handing a module to V8: imports, exports, counts
 * that bound compile cost, memory limits. It never decodes code bodies beyond
 * their local declarations, so it stays linear and cheap on hostile input;
 * the fuel meter (runtime/upload/meter.ts) reads the sections around the code
 * with the same Reader.
 */
import { WasmgateError } from '../errors.ts';

export type ExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';

export interface WasmImport {
  module: string;
  name: string;
  kind: ExternKind;
}

export interface WasmExport {
  name: string;
  kind: ExternKind;
}

export interface MemoryLimits {
  min: number;
  max: number | null;
  shared: boolean;
  memory64: boolean;
}

export interface WasmSummary {
  imports: WasmImport[];
  exports: WasmExport[];
  /** Imported + defined functions. */
  functionCount: number;
  definedFunctionCount: number;
  maxLocalsInOneFunction: number;
  dataBytes: number;
  memories: MemoryLimits[];
  tableMaxElements: number;
  hasStartSection: boolean;
  customSections: string[];
  /** Byte ranges of the memory section (id 5) for rewriting limits. */
  memorySection: { start: number; end: number } | null;
}

const KINDS: ExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new WasmgateError('INVALID_MODULE', `malformed module: ${what} at byte ${this.pos}`);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) this.fail('u32 out of range');
        return result;
      }
      shift += 7;
    }
    return this.fail('u32 too long');
  }

  u64AsNumber(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    return this.fail('u64 too long');
  }

  name(): string {
    const len = this.u32();
    if (this.pos + len > this.end) this.fail('name past end');
    try {
      return UTF8.decode(this.bytes.subarray(this.pos, (this.pos += len)));
    } catch {
      return this.fail('name is not UTF-8');
    }
  }

  skip(n: number): void {
    if (this.pos + n > this.end) this.fail('section past end');
    this.pos += n;
  }

  limits(): { min: number; max: number | null; flags: number } {
    const flags = this.byte();
    if (flags > 7) this.fail('bad limits flags');
    const wide = (flags & 4) !== 0;
    const min = wide ? this.u64AsNumber() : this.u32();
    const max = flags & 1 ? (wide ? this.u64AsNumber() : this.u32()) : null;
    return { min, max, flags };
  }

  /** Skips a value type, including the reference types' heap-type encoding. */
  valType(): void {
    const t = this.byte();
    if (t === 0x63 || t === 0x64) this.heapType();
  }

  heapType(): void {
    const b = this.bytes[this.pos];
    if (b !== undefined && b >= 0x40 && b <= 0x7f && b !== 0x40) {
      this.pos++;
      return;
    }
    // A type index, encoded as a signed LEB (s33).
    for (let i = 0; i < 5; i++) if ((this.byte() & 0x80) === 0) return;
    this.fail('bad heap type');
  }

  /** Skips a constant expression up to its `end` opcode, reporting the functions it references. */
  constExpr(onRefFunc?: (index: number) => void): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const op = this.byte();
      switch (op) {
        case 0x0b:
          return;
        case 0x41:
        case 0x42:
          for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) break;
          break;
        case 0x43:
          this.skip(4);
          break;
        case 0x44:
          this.skip(8);
          break;
        case 0x23:
          this.u32();
          break;
        case 0xd2: {
          const index = this.u32();
          onRefFunc?.(index);
          break;
        }
        case 0xd0:
          this.heapType();
          break;
        case 0x6a:
        case 0x6b:
        case 0x6c:
        case 0x7c:
        case 0x7d:
        case 0x7e:
          break;
        case 0xfd:
          this.u32();
          this.skip(16);
          break;
        case 0xfb:
          // GC constant instructions carry one or two indices.
          this.u32();
          this.u32();
          break;
        default:
          this.fail(`unsupported opcode 0x${op.toString(16)} in a constant expression`);
      }
    }
    this.fail('constant expression too long');
  }
}

export function readWasm(bytes: Uint8Array): WasmSummary {
  const r = new Reader(bytes);
  if (bytes.length < 8) throw new WasmgateError('INVALID_MODULE', 'not a WebAssembly module: too short');
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmgateError('INVALID_MODULE', 'not a WebAssembly module: bad magic number');
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new WasmgateError('INVALID_MODULE', 'unsupported WebAssembly binary version (components are not plugins)');
  }
  r.pos = 8;

  const summary: WasmSummary = {
    imports: [],
    exports: [],
    functionCount: 0,
    definedFunctionCount: 0,
    maxLocalsInOneFunction: 0,
    dataBytes: 0,
    memories: [],
    tableMaxElements: 0,
    hasStartSection: false,
    customSections: [],
    memorySection: null,
  };

  while (r.pos < bytes.length) {
    const sectionStart = r.pos;
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) r.fail(`section ${id} runs past the end of the module`);
    const s = new Reader(bytes, start, end);
    switch (id) {
      case 0:
        summary.customSections.push(s.name());
        break;
      case 2: {
        const count = s.u32();
        for (let i = 0; i < count; i++) {
          const module = s.name();
          const name = s.name();
          const kindByte = s.byte();
          const kind = KINDS[kindByte] ?? s.fail(`unknown import kind ${kindByte}`);
          summary.imports.push({ module, name, kind });
          if (kind === 'function') {
            s.u32();
            summary.functionCount++;
          } else if (kind === 'table') {
            s.valType();
            const lim = s.limits();
            summary.tableMaxElements = Math.max(summary.tableMaxElements, lim.max ?? lim.min);
          } else if (kind === 'memory') {
            const lim = s.limits();
            summary.memories.push({
              min: lim.min,
              max: lim.max,
              shared: (lim.flags & 2) !== 0,
              memory64: (lim.flags & 4) !== 0,
            });
          } else if (kind === 'global') {
            s.valType();
            s.byte();
          } else {
            s.byte();
            s.u32();
          }
        }
        break;
      }
      case 3: {
        const count = s.u32();
        summary.functionCount += count;
        summary.definedFunctionCount = count;
        break;
      }
      case 4: {
        const count = s.u32();
        for (let i = 0; i < count; i++) {
          if (bytes[s.pos] === 0x40) {
            // Table with an initialiser expression.
            s.skip(2);
            s.valType();
            const lim = s.limits();
            summary.tableMaxElements = Math.max(summary.tableMaxElements, lim.max ?? lim.min);
            s.constExpr();
          } else {
            s.valType();
            const lim = s.limits();
            summary.tableMaxElements = Math.max(summary.tableMaxElements, lim.max ?? lim.min);
          }
        }
        break;
      }
      case 5: {
        summary.memorySection = { start: sectionStart, end };
        const count = s.u32();
        for (let i = 0; i < count; i++) {
          const lim = s.limits();
          summary.memories.push({
            min: lim.min,
            max: lim.max,
            shared: (lim.flags & 2) !== 0,
            memory64: (lim.flags & 4) !== 0,
          });
        }
        break;
      }
      case 7: {
        const count = s.u32();
        for (let i = 0; i < count; i++) {
          const name = s.name();
          const kindByte = s.byte();
          const kind = KINDS[kindByte] ?? s.fail(`unknown export kind ${kindByte}`);
          s.u32();
          summary.exports.push({ name, kind });
        }
        break;
      }
      case 8:
        summary.hasStartSection = true;
        break;
      case 10: {
        const count = s.u32();
        for (let i = 0; i < count; i++) {
          const bodySize = s.u32();
          const bodyEnd = s.pos + bodySize;
          if (bodyEnd > end) s.fail('function body runs past the code section');
          const groups = s.u32();
          let locals = 0;
          for (let g = 0; g < groups; g++) {
            locals += s.u32();
            s.valType();
          }
          if (locals > summary.maxLocalsInOneFunction) summary.maxLocalsInOneFunction = locals;
          s.pos = bodyEnd;
        }
        break;
      }
      case 11: {
        const count = s.u32();
        for (let i = 0; i < count; i++) {
          const flags = s.u32();
          if (flags === 0) {
            s.constExpr();
          } else if (flags === 2) {
            s.u32();
            s.constExpr();
          } else if (flags !== 1) {
            s.fail(`bad data segment flags ${flags}`);
          }
          const len = s.u32();
          summary.dataBytes += len;
          s.skip(len);
        }
        break;
      }
      default:
        if (id > 13) r.fail(`unknown section id ${id}`);
    }
    r.pos = end;
  }
  return summary;
}

function encodeU32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/**
 * Rewrites the memory section so every defined memory has a maximum of at
 * most `maxPages`. The SDK's `memory.maxPages` only bounds host blocks; the
 * guest's own `memory.grow` is bounded only by this declared maximum.
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  const summary = readWasm(bytes);
  if (!summary.memorySection) return bytes;
  const defined = summary.memories.slice(summary.memories.length - countDefinedMemories(summary));
  const body: number[] = [...encodeU32(defined.length)];
  for (const mem of defined) {
    if (mem.memory64) throw new WasmgateError('MODULE_LIMIT_EXCEEDED', '64-bit memories are not supported');
    if (mem.shared) throw new WasmgateError('MODULE_LIMIT_EXCEEDED', 'shared memories are not supported');
    if (mem.min > maxPages) {
      throw new WasmgateError(
        'MODULE_LIMIT_EXCEEDED',
        `initial memory of ${mem.min} pages exceeds the limit of ${maxPages} pages`,
      );
    }
    const max = mem.max === null ? maxPages : Math.min(mem.max, maxPages);
    body.push(1, ...encodeU32(mem.min), ...encodeU32(max));
  }
  const { start, end } = summary.memorySection;
  const section = [5, ...encodeU32(body.length), ...body];
  const out = new Uint8Array(bytes.length - (end - start) + section.length);
  out.set(bytes.subarray(0, start), 0);
  out.set(section, start);
  out.set(bytes.subarray(end), start + section.length);
  return out;
}

function countDefinedMemories(summary: WasmSummary): number {
  const imported = summary.imports.filter((i) => i.kind === 'memory').length;
  return summary.memories.length - imported;
}
