// msgpack for AssemblyScript 0.28: a reader over a byte buffer, a growable
// writer that always emits the shortest form (docs/abi.md §6), and a
// dynamic Value for maps whose shape the plugin does not know
// (config_data, analytics records).

import {
  ABSENT,
  asciiName,
  findKey,
  firstString,
  MAX_DEPTH,
  nameBytes,
  scanned,
  scans,
  skipValue,
  UNSURE,
} from './scan';

export enum Kind {
  Nil = 0,
  Bool = 1,
  Int = 2, // negative integers
  Uint = 3, // non-negative integers
  Float = 4,
  Str = 5,
  Bin = 6,
  Array = 7,
  Map = 8,
  Ext = 9,
}

/** A decoded msgpack value of any type. Maps keep their key order. */
export class Value {
  kind: Kind = Kind.Nil;
  b: bool = false;
  i: i64 = 0;
  u: u64 = 0;
  f: f64 = 0;
  s: string = '';
  // Allocated on first use: most values are scalars, and a decoded config
  // or session would otherwise pay three empty containers per value.
  private _bin: Uint8Array | null = null;
  _items: Value[] | null = null;
  _keys: string[] | null = null;

  /** The bytes of a bin value (empty otherwise). */
  get bin(): Uint8Array {
    let b = this._bin;
    if (b === null) {
      b = new Uint8Array(0);
      this._bin = b;
    }
    return b!;
  }
  set bin(v: Uint8Array) {
    this._bin = v;
  }
  /** Array elements, or map values in key order. */
  get items(): Value[] {
    let a = this._items;
    if (a === null) {
      a = new Array<Value>();
      this._items = a;
    }
    return a!;
  }
  set items(v: Value[]) {
    this._items = v;
  }
  /** Map keys, in order. */
  get keys(): string[] {
    let k = this._keys;
    if (k === null) {
      k = new Array<string>();
      this._keys = k;
    }
    return k!;
  }
  set keys(v: string[]) {
    this._keys = v;
  }

  static nil(): Value {
    return new Value();
  }
  static bool(v: bool): Value {
    const x = new Value();
    x.kind = Kind.Bool;
    x.b = v;
    return x;
  }
  static int(v: i64): Value {
    const x = new Value();
    if (v < 0) {
      x.kind = Kind.Int;
      x.i = v;
    } else {
      x.kind = Kind.Uint;
      x.u = <u64>v;
      x.i = v;
    }
    return x;
  }
  static uint(v: u64): Value {
    const x = new Value();
    x.kind = Kind.Uint;
    x.u = v;
    x.i = <i64>v;
    return x;
  }
  static float(v: f64): Value {
    const x = new Value();
    x.kind = Kind.Float;
    x.f = v;
    return x;
  }
  static str(v: string): Value {
    const x = new Value();
    x.kind = Kind.Str;
    x.s = v;
    return x;
  }
  static bytes(v: Uint8Array): Value {
    const x = new Value();
    x.kind = Kind.Bin;
    x.bin = v;
    return x;
  }
  static array(items: Value[]): Value {
    const x = new Value();
    x.kind = Kind.Array;
    x.items = items;
    return x;
  }
  static map(): Value {
    const x = new Value();
    x.kind = Kind.Map;
    return x;
  }

  isNil(): bool {
    return this.kind == Kind.Nil;
  }
  isNumber(): bool {
    return this.kind == Kind.Int || this.kind == Kind.Uint || this.kind == Kind.Float;
  }
  /** The number as f64 (0 when not a number). */
  asF64(): f64 {
    if (this.kind == Kind.Float) return this.f;
    if (this.kind == Kind.Uint) return <f64>this.u;
    if (this.kind == Kind.Int) return <f64>this.i;
    return 0;
  }
  /** The number as i64, truncating floats (0 when not a number). */
  asI64(): i64 {
    if (this.kind == Kind.Float) return <i64>this.f;
    if (this.kind == Kind.Uint) return <i64>this.u;
    if (this.kind == Kind.Int) return this.i;
    return 0;
  }

  /** Map lookup; null when absent or not a map. */
  get(key: string): Value | null {
    const keys = this._keys;
    if (this.kind != Kind.Map || keys === null) return null;
    for (let i = 0; i < keys.length; i++) if (unchecked(keys[i]) == key) return this.items[i];
    return null;
  }
  /** Sets a map entry (replacing an existing key, else appending). */
  set(key: string, v: Value): void {
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] == key) {
        this.items[i] = v;
        return;
      }
    }
    this.keys.push(key);
    this.items.push(v);
  }
  get length(): i32 {
    const a = this._items;
    return a === null ? 0 : a.length;
  }
}

/** Reads msgpack from bytes. Errors never trap: they set `error` and return zero values. */
export class Reader {
  pos: i32 = 0;
  error: string | null = null;

  constructor(public buf: Uint8Array) {}

  fail(msg: string): void {
    if (this.error === null) this.error = msg + ' at byte ' + this.pos.toString();
    this.pos = this.buf.length;
  }

  private need(n: i32): bool {
    if (this.pos + n > this.buf.length || n < 0) {
      this.fail('unexpected end of msgpack');
      return false;
    }
    return true;
  }

  private u8(): u32 {
    if (!this.need(1)) return 0;
    return <u32>unchecked(this.buf[this.pos++]);
  }
  private be16(): u32 {
    if (!this.need(2)) return 0;
    const p = this.pos;
    this.pos += 2;
    return ((<u32>unchecked(this.buf[p])) << 8) | <u32>unchecked(this.buf[p + 1]);
  }
  private be32(): u32 {
    if (!this.need(4)) return 0;
    const p = this.pos;
    this.pos += 4;
    return (
      ((<u32>unchecked(this.buf[p])) << 24) |
      ((<u32>unchecked(this.buf[p + 1])) << 16) |
      ((<u32>unchecked(this.buf[p + 2])) << 8) |
      <u32>unchecked(this.buf[p + 3])
    );
  }
  private be64(): u64 {
    const hi = <u64>this.be32();
    const lo = <u64>this.be32();
    return (hi << 32) | lo;
  }

  peek(): u32 {
    if (this.pos >= this.buf.length) return 0xc1;
    return <u32>unchecked(this.buf[this.pos]);
  }

  done(): bool {
    return this.pos >= this.buf.length;
  }

  isNil(): bool {
    return this.peek() == 0xc0;
  }

  readNil(): bool {
    if (this.peek() == 0xc0) {
      this.pos++;
      return true;
    }
    return false;
  }

  readBool(): bool {
    const b = this.u8();
    if (b == 0xc3) return true;
    if (b != 0xc2) this.fail('expected a bool');
    return false;
  }

  /** Any integer (or float, truncated) as i64. */
  readInt(): i64 {
    const b = this.peek();
    if (b <= 0x7f) {
      this.pos++;
      return <i64>b;
    }
    if (b >= 0xe0) {
      this.pos++;
      return <i64>(<i8>b);
    }
    this.pos++;
    switch (b) {
      case 0xcc:
        return <i64>this.u8();
      case 0xcd:
        return <i64>this.be16();
      case 0xce:
        return <i64>this.be32();
      case 0xcf:
        return <i64>this.be64();
      case 0xd0:
        return <i64>(<i8>this.u8());
      case 0xd1:
        return <i64>(<i16>this.be16());
      case 0xd2:
        return <i64>(<i32>this.be32());
      case 0xd3:
        return <i64>this.be64();
      case 0xca:
        return <i64>reinterpret<f32>(this.be32());
      case 0xcb:
        return <i64>reinterpret<f64>(this.be64());
    }
    this.pos--;
    this.fail('expected an integer');
    return 0;
  }

  /** Any number as f64. */
  readF64(): f64 {
    const b = this.peek();
    if (b == 0xcb) {
      this.pos++;
      return reinterpret<f64>(this.be64());
    }
    if (b == 0xca) {
      this.pos++;
      return <f64>reinterpret<f32>(this.be32());
    }
    if (b == 0xcf) {
      this.pos++;
      return <f64>this.be64();
    }
    return <f64>this.readInt();
  }

  private strLen(): i32 {
    const b = this.u8();
    if ((b & 0xe0) == 0xa0) return <i32>(b & 0x1f);
    if (b == 0xd9) return <i32>this.u8();
    if (b == 0xda) return <i32>this.be16();
    if (b == 0xdb) return <i32>this.be32();
    this.pos--;
    this.fail('expected a string');
    return -1;
  }

  /** Start and length of the string just read by readKey(). */
  keyStart: i32 = 0;
  keyLen: i32 = 0;

  /** Reads a map key without decoding it; compare it with keyIs(). */
  readKey(): void {
    const n = this.strLen();
    this.keyStart = this.pos;
    // A key cut short matches nothing: keyIs must not compare bytes past the input.
    this.keyLen = 0;
    if (n > 0 && this.need(n)) {
      this.keyLen = n;
      this.pos += n;
    }
  }

  /** True when the key readKey() read is exactly `ascii`. */
  keyIs(ascii: string): bool {
    const n = ascii.length;
    if (n != this.keyLen) return false;
    const base = this.buf.dataStart + <usize>this.keyStart;
    for (let i = 0; i < n; i++) {
      if (<i32>load<u8>(base + <usize>i) != <i32>ascii.charCodeAt(i)) return false;
    }
    return true;
  }

  readString(): string {
    const n = this.strLen();
    if (n < 0 || !this.need(n)) return '';
    const s = String.UTF8.decodeUnsafe(this.buf.dataStart + <usize>this.pos, <usize>n);
    this.pos += n;
    return s;
  }

  /** bin or str as bytes (a copy). */
  readBytes(): Uint8Array {
    const b = this.peek();
    let n: i32 = -1;
    if (b == 0xc4) {
      this.pos++;
      n = <i32>this.u8();
    } else if (b == 0xc5) {
      this.pos++;
      n = <i32>this.be16();
    } else if (b == 0xc6) {
      this.pos++;
      n = <i32>this.be32();
    } else {
      n = this.strLen();
    }
    if (n < 0 || !this.need(n)) return new Uint8Array(0);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  readArrayHeader(): i32 {
    const b = this.u8();
    if ((b & 0xf0) == 0x90) return <i32>(b & 0x0f);
    if (b == 0xdc) return <i32>this.be16();
    if (b == 0xdd) return this.checkedCount(this.be32());
    this.pos--;
    this.fail('expected an array');
    return 0;
  }

  readMapHeader(): i32 {
    const b = this.u8();
    if ((b & 0xf0) == 0x80) return <i32>(b & 0x0f);
    if (b == 0xde) return <i32>this.be16();
    if (b == 0xdf) return this.checkedCount(this.be32());
    this.pos--;
    this.fail('expected a map');
    return 0;
  }

  private checkedCount(n: u32): i32 {
    // Every element takes at least one byte: a larger count is a lie.
    if (<u64>n > <u64>(this.buf.length - this.pos)) {
      this.fail('collection longer than its input');
      return 0;
    }
    return <i32>n;
  }

  /** A string array; a single string is accepted as a one-element array. */
  readStringArray(): string[] {
    const out = new Array<string>();
    if ((this.peek() & 0xe0) == 0xa0 || this.peek() == 0xd9 || this.peek() == 0xda || this.peek() == 0xdb) {
      out.push(this.readString());
      return out;
    }
    if (this.readNil()) return out;
    const n = this.readArrayHeader();
    for (let i = 0; i < n && this.error === null; i++) out.push(this.readString());
    return out;
  }

  /** True when the key readKey() read is exactly these UTF-8 bytes. */
  keyEquals(utf8: Uint8Array): bool {
    if (utf8.length != this.keyLen) return false;
    return memory.compare(this.buf.dataStart + <usize>this.keyStart, utf8.dataStart, <usize>this.keyLen) == 0;
  }

  /**
   * In a map of string → [string] (headers, query parameters): the first
   * value under `name`, or null. Other entries are skipped, not decoded, so
   * one lookup in a large map allocates nothing but the answer.
   */
  findFirst(name: string): string | null {
    if (this.error === null && scans()) {
      const n = asciiName(name, false);
      if (n >= 0) {
        const found = this.findFirstFast(n);
        if (found != UNSURE) return found == ABSENT ? null : this.decodeAt(found, scanned);
      }
    }
    return this.findFirstCarefully(name);
  }

  /**
   * findFirst for a name already in scan.nameBytes(): the offset of the
   * answer's bytes (length in scan.scanned), ABSENT or UNSURE. The reader
   * is left past the map when the answer is sure.
   */
  findFirstFast(n: i32): i32 {
    if (!scans()) return UNSURE;
    const base = this.buf.dataStart;
    const len = this.buf.length;
    const v = findKey(base, this.pos, len, nameBytes(), n);
    if (v == UNSURE) return UNSURE;
    if (v == ABSENT) {
      this.pos = skipValue(base, this.pos, len, MAX_DEPTH);
      return ABSENT;
    }
    const first = firstString(base, v, len);
    // Past the value, as readStringArray leaves it (skipValue leaves `scanned` alone).
    if (first != UNSURE) this.pos = skipValue(base, v, len, MAX_DEPTH);
    return first;
  }

  private decodeAt(at: i32, n: i32): string {
    return String.UTF8.decodeUnsafe(this.buf.dataStart + <usize>at, <usize>n);
  }

  private findFirstCarefully(name: string): string | null {
    if (this.readNil()) return null;
    const want = Uint8Array.wrap(String.UTF8.encode(name));
    const n = this.readMapHeader();
    for (let i = 0; i < n && this.error === null; i++) {
      this.readKey();
      if (this.keyEquals(want)) {
        const values = this.readStringArray();
        return values.length > 0 && this.error === null ? values[0] : null;
      }
      this.skip();
    }
    return null;
  }

  /** A map of string → [string] (headers, query parameters). */
  readMulti(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    if (this.readNil()) return out;
    const n = this.readMapHeader();
    for (let i = 0; i < n && this.error === null; i++) {
      const k = this.readString();
      out.set(k, this.readStringArray());
    }
    return out;
  }

  /** Any value, decoded dynamically. */
  readValue(depth: i32 = 0): Value {
    if (depth > 64) {
      this.fail('nesting deeper than 64');
      return Value.nil();
    }
    const b = this.peek();
    if (b == 0xc0) {
      this.pos++;
      return Value.nil();
    }
    if (b == 0xc2 || b == 0xc3) return Value.bool(this.readBool());
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xcf) || (b >= 0xd0 && b <= 0xd3)) {
      if (b == 0xcf) {
        this.pos++;
        return Value.uint(this.be64());
      }
      return Value.int(this.readInt());
    }
    if (b == 0xca || b == 0xcb) return Value.float(this.readF64());
    if ((b & 0xe0) == 0xa0 || b == 0xd9 || b == 0xda || b == 0xdb) return Value.str(this.readString());
    if (b == 0xc4 || b == 0xc5 || b == 0xc6) return Value.bytes(this.readBytes());
    if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd) {
      const n = this.readArrayHeader();
      const items = new Array<Value>();
      for (let i = 0; i < n && this.error === null; i++) items.push(this.readValue(depth + 1));
      return Value.array(items);
    }
    if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf) {
      const n = this.readMapHeader();
      const m = Value.map();
      for (let i = 0; i < n && this.error === null; i++) {
        const kb = this.peek();
        const key =
          (kb & 0xe0) == 0xa0 || kb == 0xd9 || kb == 0xda || kb == 0xdb
            ? this.readString()
            : this.readValue(depth + 1)
                .asI64()
                .toString();
        m.keys.push(key);
        m.items.push(this.readValue(depth + 1));
      }
      return m;
    }
    this.fail('unsupported msgpack type 0x' + b.toString(16));
    return Value.nil();
  }

  /** Steps over one value of any type without decoding it (no allocation). */
  skip(depth: i32 = 0): void {
    if (this.error === null && scans()) {
      const next = skipValue(this.buf.dataStart, this.pos, this.buf.length, MAX_DEPTH - depth);
      if (next >= 0) {
        this.pos = next;
        return;
      }
    }
    this.skipCarefully(depth);
  }

  private skipCarefully(depth: i32): void {
    if (depth > 64) {
      this.fail('nesting deeper than 64');
      return;
    }
    const b = this.u8();
    if (this.error !== null) return;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) return;
    if ((b & 0xe0) == 0xa0) {
      this.advance(<i32>(b & 0x1f));
      return;
    }
    if ((b & 0xf0) == 0x90) {
      this.skipN(<i32>(b & 0x0f), depth);
      return;
    }
    if ((b & 0xf0) == 0x80) {
      this.skipN(<i32>(b & 0x0f) * 2, depth);
      return;
    }
    switch (b) {
      case 0xcc:
      case 0xd0:
        this.advance(1);
        return;
      case 0xcd:
      case 0xd1:
        this.advance(2);
        return;
      case 0xce:
      case 0xd2:
      case 0xca:
        this.advance(4);
        return;
      case 0xcf:
      case 0xd3:
      case 0xcb:
        this.advance(8);
        return;
      case 0xd9:
      case 0xc4:
        this.advance(<i32>this.u8());
        return;
      case 0xda:
      case 0xc5:
        this.advance(<i32>this.be16());
        return;
      case 0xdb:
      case 0xc6:
        this.advance(<i32>this.be32());
        return;
      case 0xdc:
        this.skipN(<i32>this.be16(), depth);
        return;
      case 0xdd:
        this.skipN(this.checkedCount(this.be32()), depth);
        return;
      case 0xde:
        this.skipN(<i32>this.be16() * 2, depth);
        return;
      case 0xdf:
        this.skipN(this.checkedCount(this.be32()) * 2, depth);
        return;
    }
    this.pos--;
    this.fail('unsupported msgpack type 0x' + b.toString(16));
  }

  private advance(n: i32): void {
    if (this.need(n)) this.pos += n;
  }

  private skipN(n: i32, depth: i32): void {
    for (let i = 0; i < n && this.error === null; i++) this.skipCarefully(depth + 1);
  }

  /** A reader over the same bytes, starting at `pos`. */
  at(pos: i32): Reader {
    const r = new Reader(this.buf);
    r.pos = pos;
    return r;
  }
}

/** Writes msgpack, always in the shortest form. */
export class Writer {
  /** Bytes written so far: `buf[0..len)`. */
  len: i32 = 0;
  private _buf: Uint8Array;
  // The buffer's address and size, so a write is a bounds check and a store.
  private ptr: usize;
  private cap: i32 = 0;

  constructor(capacity: i32 = 256) {
    const b = new Uint8Array(capacity);
    this._buf = b;
    this.ptr = b.dataStart;
    this.cap = capacity;
  }

  /** The buffer written into (it is replaced when it fills up). */
  get buf(): Uint8Array {
    return this._buf;
  }
  set buf(b: Uint8Array) {
    this._buf = b;
    this.ptr = b.dataStart;
    this.cap = b.length;
  }

  /** Makes room for `n` more bytes; returns where they go. */
  @inline
  private room(n: i32): usize {
    if (n > this.cap - this.len) this.grow(n);
    return this.ptr + <usize>this.len;
  }

  private grow(n: i32): void {
    const need = this.len + n;
    let cap = this.cap < 16 ? 16 : this.cap * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    memory.copy(next.dataStart, this.ptr, <usize>this.len);
    this.buf = next;
  }

  private put(b: u32): void {
    store<u8>(this.room(1), <u8>b);
    this.len += 1;
  }
  /** A one-byte tag and a big-endian 8-, 16-, 32- or 64-bit payload (`size` 1, 2, 4 or 8). */
  private tagged(tag: u32, v: u64, size: i32): void {
    const p = this.room(1 + size);
    store<u8>(p, <u8>tag);
    if (size == 1) store<u8>(p, <u8>v, 1);
    else if (size == 2) store<u16>(p, bswap<u16>(<u16>v), 1);
    else if (size == 4) store<u32>(p, bswap<u32>(<u32>v), 1);
    else store<u64>(p, bswap<u64>(v), 1);
    this.len += 1 + size;
  }

  nil(): void {
    this.put(0xc0);
  }

  bool(v: bool): void {
    this.put(v ? 0xc3 : 0xc2);
  }

  uint(v: u64): void {
    if (v <= 0x7f) this.put(<u32>v);
    else if (v <= 0xff) this.tagged(0xcc, v, 1);
    else if (v <= 0xffff) this.tagged(0xcd, v, 2);
    else if (v <= 0xffffffff) this.tagged(0xce, v, 4);
    else this.tagged(0xcf, v, 8);
  }

  int(v: i64): void {
    if (v >= 0) {
      this.uint(<u64>v);
      return;
    }
    if (v >= -32) this.put(<u32>(<u8>(<i8>v)));
    else if (v >= -128) this.tagged(0xd0, <u64>v, 1);
    else if (v >= -32768) this.tagged(0xd1, <u64>v, 2);
    else if (v >= -2147483648) this.tagged(0xd2, <u64>v, 4);
    else this.tagged(0xd3, <u64>v, 8);
  }

  f64(v: f64): void {
    this.tagged(0xcb, reinterpret<u64>(v), 8);
  }

  private raw(ptr: usize, n: i32): void {
    memory.copy(this.room(n), ptr, <usize>n);
    this.len += n;
  }

  str(s: string): void {
    if (this.ascii(s)) return;
    const n = String.UTF8.byteLength(s);
    let p = this.room(n + 5);
    if (n <= 31) {
      store<u8>(p, <u8>(0xa0 | n));
      p += 1;
    } else if (n <= 0xff) {
      store<u8>(p, 0xd9);
      store<u8>(p, <u8>n, 1);
      p += 2;
    } else if (n <= 0xffff) {
      store<u8>(p, 0xda);
      store<u16>(p, bswap<u16>(<u16>n), 1);
      p += 3;
    } else {
      store<u8>(p, 0xdb);
      store<u32>(p, bswap<u32>(<u32>n), 1);
      p += 5;
    }
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
    this.len = <i32>(p - this.ptr) + n;
  }

  /**
   * Writes `s` when it is ASCII — one pass, each UTF-16 unit one byte — and
   * returns true; returns false, having written nothing, at the first
   * other character.
   */
  private ascii(s: string): bool {
    const chars = s.length;
    const head = chars <= 31 ? 1 : chars <= 0xff ? 2 : chars <= 0xffff ? 3 : 5;
    const p = this.room(chars + head);
    const src = changetype<usize>(s);
    const dst = p + <usize>head;
    for (let i = 0; i < chars; i++) {
      const c = <u32>load<u16>(src + ((<usize>i) << 1));
      if (c >= 0x80) return false;
      store<u8>(dst + <usize>i, <u8>c);
    }
    if (head == 1) store<u8>(p, <u8>(0xa0 | chars));
    else if (head == 2) {
      store<u8>(p, 0xd9);
      store<u8>(p, <u8>chars, 1);
    } else if (head == 3) {
      store<u8>(p, 0xda);
      store<u16>(p, bswap<u16>(<u16>chars), 1);
    } else {
      store<u8>(p, 0xdb);
      store<u32>(p, bswap<u32>(<u32>chars), 1);
    }
    this.len += head + chars;
    return true;
  }

  bin(b: Uint8Array): void {
    const n = b.length;
    if (n <= 0xff) this.tagged(0xc4, <u64>n, 1);
    else if (n <= 0xffff) this.tagged(0xc5, <u64>n, 2);
    else this.tagged(0xc6, <u64>n, 4);
    this.raw(b.dataStart, n);
  }

  /** The UTF-8 bytes of `s` as bin: what `bin(Uint8Array.wrap(String.UTF8.encode(s)))` writes, without the copy. */
  binUtf8(s: string): void {
    const n = String.UTF8.byteLength(s);
    if (n <= 0xff) this.tagged(0xc4, <u64>n, 1);
    else if (n <= 0xffff) this.tagged(0xc5, <u64>n, 2);
    else this.tagged(0xc6, <u64>n, 4);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.room(n));
    this.len += n;
  }

  arrayHeader(n: i32): void {
    if (n <= 15) this.put(0x90 | <u32>n);
    else if (n <= 0xffff) this.tagged(0xdc, <u64>n, 2);
    else this.tagged(0xdd, <u64>n, 4);
  }

  mapHeader(n: i32): void {
    if (n <= 15) this.put(0x80 | <u32>n);
    else if (n <= 0xffff) this.tagged(0xde, <u64>n, 2);
    else this.tagged(0xdf, <u64>n, 4);
  }

  strArray(values: string[]): void {
    this.arrayHeader(values.length);
    for (let i = 0; i < values.length; i++) this.str(values[i]);
  }

  /** A map of string → [string], in insertion order. */
  multi(m: Map<string, string[]>): void {
    const keys = m.keys();
    this.mapHeader(keys.length);
    for (let i = 0; i < keys.length; i++) {
      this.str(keys[i]);
      this.strArray(m.get(keys[i]));
    }
  }

  value(v: Value): void {
    switch (v.kind) {
      case Kind.Nil:
        this.nil();
        break;
      case Kind.Bool:
        this.bool(v.b);
        break;
      case Kind.Int:
        this.int(v.i);
        break;
      case Kind.Uint:
        this.uint(v.u);
        break;
      case Kind.Float:
        this.f64(v.f);
        break;
      case Kind.Str:
        this.str(v.s);
        break;
      case Kind.Bin:
        this.bin(v.bin);
        break;
      case Kind.Array: {
        const items = v._items;
        const n = items === null ? 0 : items.length;
        this.arrayHeader(n);
        for (let i = 0; i < n; i++) this.value(unchecked(items![i]));
        break;
      }
      case Kind.Map: {
        const keys = v._keys;
        const n = keys === null ? 0 : keys.length;
        this.mapHeader(n);
        for (let i = 0; i < n; i++) {
          this.str(unchecked(keys![i]));
          this.value(v.items[i]);
        }
        break;
      }
      default:
        this.nil();
    }
  }

  /** The written bytes (a view, valid until the next write). */
  bytes(): Uint8Array {
    return Uint8Array.wrap(this.buf.buffer, 0, this.len);
  }
}
