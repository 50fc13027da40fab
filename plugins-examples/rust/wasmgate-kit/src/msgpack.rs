//! A small msgpack reader and the canonical writer of docs/abi.md §6:
//! integers in their shortest form, floats as float64, strings as str,
//! bytes as bin, maps in the order they were built.

use std::fmt;

/// A decoded msgpack value. Maps keep their order (a `Vec` of pairs).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    /// Every integer that fits an i64.
    Int(i64),
    /// Integers above i64::MAX.
    UInt(u64),
    /// float32 values are widened.
    F64(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// The value at string key `key` of a map (None for other kinds).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(pairs) => pairs.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bin(b) => Some(b),
            Value::Str(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::UInt(_) | Value::F64(_))
    }
    /// A number as f64 (None for other kinds).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::UInt(u) => Some(u as f64),
            Value::F64(f) => Some(f),
            _ => None,
        }
    }
    /// A number as i64; floats are truncated toward zero (saturating).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => Some(if u > i64::MAX as u64 { i64::MAX } else { u as i64 }),
            Value::F64(f) => Some(f as i64),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn is_map(&self) -> bool {
        matches!(self, Value::Map(_))
    }
    /// A map's string keys and values, in order (non-string keys skipped).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        let pairs: &[(Value, Value)] = match self {
            Value::Map(p) => p,
            _ => &[],
        };
        pairs.iter().filter_map(|(k, v)| k.as_str().map(|k| (k, v)))
    }
    /// Sets `key` in a map value: replaces the value in place when the key
    /// exists, otherwise appends (insertion order is kept).
    pub fn set(&mut self, key: &str, value: Value) {
        if let Value::Map(pairs) = self {
            if let Some(slot) = pairs.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
                slot.1 = value;
            } else {
                pairs.push((Value::Str(key.to_string()), value));
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::F64(f)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// Why an input could not be decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError(pub &'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

pub type Decoded<T> = Result<T, DecodeError>;

/// Deepest nesting the reader follows (a hostile envelope cannot overflow the stack).
const MAX_DEPTH: u32 = 64;

/// Reads msgpack from a byte slice, front to back.
pub struct Reader<'a> {
    buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Decoded<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(DecodeError("length overflow"))?;
        if end > self.buf.len() {
            return Err(DecodeError("unexpected end of input"));
        }
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn byte(&mut self) -> Decoded<u8> {
        Ok(self.take(1)?[0])
    }
    fn be(&mut self, n: usize) -> Decoded<u64> {
        let mut v = 0u64;
        for &b in self.take(n)? {
            v = (v << 8) | b as u64;
        }
        Ok(v)
    }
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// True (and consumed) when the next value is nil.
    pub fn nil(&mut self) -> bool {
        if self.peek() == Some(0xc0) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A map header: the number of pairs.
    pub fn map_len(&mut self) -> Decoded<usize> {
        let b = self.byte()?;
        match b {
            0x80..=0x8f => Ok((b & 0x0f) as usize),
            0xde => Ok(self.be(2)? as usize),
            0xdf => Ok(self.be(4)? as usize),
            _ => Err(DecodeError("expected a map")),
        }
    }
    /// An array header: the number of items.
    pub fn array_len(&mut self) -> Decoded<usize> {
        let b = self.byte()?;
        match b {
            0x90..=0x9f => Ok((b & 0x0f) as usize),
            0xdc => Ok(self.be(2)? as usize),
            0xdd => Ok(self.be(4)? as usize),
            _ => Err(DecodeError("expected an array")),
        }
    }
    fn str_len(&mut self, b: u8) -> Decoded<Option<usize>> {
        Ok(Some(match b {
            0xa0..=0xbf => (b & 0x1f) as usize,
            0xd9 => self.be(1)? as usize,
            0xda => self.be(2)? as usize,
            0xdb => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }
    fn bin_len(&mut self, b: u8) -> Decoded<Option<usize>> {
        Ok(Some(match b {
            0xc4 => self.be(1)? as usize,
            0xc5 => self.be(2)? as usize,
            0xc6 => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }

    /// The raw UTF-8 bytes of a str.
    pub fn str_bytes(&mut self) -> Decoded<&'a [u8]> {
        let b = self.byte()?;
        match self.str_len(b)? {
            Some(n) => self.take(n),
            None => Err(DecodeError("expected a string")),
        }
    }
    /// A str (invalid UTF-8 is replaced, never an error).
    pub fn string(&mut self) -> Decoded<String> {
        Ok(String::from_utf8_lossy(self.str_bytes()?).into_owned())
    }
    /// A str, or "" for nil / any other kind (skipped).
    pub fn string_or_empty(&mut self) -> Decoded<String> {
        match self.peek() {
            Some(0xa0..=0xbf) | Some(0xd9) | Some(0xda) | Some(0xdb) => self.string(),
            _ => {
                self.skip()?;
                Ok(String::new())
            }
        }
    }
    /// bin (or str) bytes; None for nil.
    pub fn bytes_or_nil(&mut self) -> Decoded<Option<Vec<u8>>> {
        if self.nil() {
            return Ok(None);
        }
        let b = self.byte()?;
        if let Some(n) = self.bin_len(b)? {
            return Ok(Some(self.take(n)?.to_vec()));
        }
        if let Some(n) = self.str_len(b)? {
            return Ok(Some(self.take(n)?.to_vec()));
        }
        Err(DecodeError("expected bin"))
    }
    /// Any number as i64 (floats truncated); 0 for nil.
    pub fn int(&mut self) -> Decoded<i64> {
        match self.value()? {
            Value::Nil => Ok(0),
            v => v.as_i64().ok_or(DecodeError("expected an integer")),
        }
    }

    /// Skips one value of any kind.
    pub fn skip(&mut self) -> Decoded<()> {
        self.skip_depth(0)
    }
    fn skip_depth(&mut self, depth: u32) -> Decoded<()> {
        if depth > MAX_DEPTH {
            return Err(DecodeError("nesting too deep"));
        }
        let b = self.byte()?;
        let (skip, items) = match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * (b & 0x0f) as usize),
            0x90..=0x9f => (0, (b & 0x0f) as usize),
            0xa0..=0xbf => ((b & 0x1f) as usize, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xce | 0xd2 | 0xca => (4, 0),
            0xcf | 0xd3 | 0xcb => (8, 0),
            0xd9 | 0xc4 => (self.be(1)? as usize, 0),
            0xda | 0xc5 => (self.be(2)? as usize, 0),
            0xdb | 0xc6 => (self.be(4)? as usize, 0),
            0xdc => (0, self.be(2)? as usize),
            0xdd => (0, self.be(4)? as usize),
            0xde => (0, 2 * self.be(2)? as usize),
            0xdf => (0, 2 * self.be(4)? as usize),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xc7 => (self.be(1)? as usize + 1, 0),
            0xc8 => (self.be(2)? as usize + 1, 0),
            0xc9 => (self.be(4)? as usize + 1, 0),
            _ => return Err(DecodeError("invalid msgpack type")),
        };
        self.take(skip)?;
        for _ in 0..items {
            self.skip_depth(depth + 1)?;
        }
        Ok(())
    }

    /// One value of any kind, decoded into a tree.
    pub fn value(&mut self) -> Decoded<Value> {
        self.value_depth(0)
    }
    fn value_depth(&mut self, depth: u32) -> Decoded<Value> {
        if depth > MAX_DEPTH {
            return Err(DecodeError("nesting too deep"));
        }
        let b = self.byte()?;
        if let Some(n) = self.str_len(b)? {
            return Ok(Value::Str(String::from_utf8_lossy(self.take(n)?).into_owned()));
        }
        if let Some(n) = self.bin_len(b)? {
            return Ok(Value::Bin(self.take(n)?.to_vec()));
        }
        Ok(match b {
            0x00..=0x7f => Value::Int(b as i64),
            0xe0..=0xff => Value::Int(b as i8 as i64),
            0xc0 => Value::Nil,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xcc => Value::Int(self.be(1)? as i64),
            0xcd => Value::Int(self.be(2)? as i64),
            0xce => Value::Int(self.be(4)? as i64),
            0xcf => {
                let u = self.be(8)?;
                if u > i64::MAX as u64 {
                    Value::UInt(u)
                } else {
                    Value::Int(u as i64)
                }
            }
            0xd0 => Value::Int(self.be(1)? as u8 as i8 as i64),
            0xd1 => Value::Int(self.be(2)? as u16 as i16 as i64),
            0xd2 => Value::Int(self.be(4)? as u32 as i32 as i64),
            0xd3 => Value::Int(self.be(8)? as i64),
            0xca => Value::F64(f32::from_bits(self.be(4)? as u32) as f64),
            0xcb => Value::F64(f64::from_bits(self.be(8)?)),
            0x90..=0x9f | 0xdc | 0xdd => {
                self.pos -= 1;
                let n = self.array_len()?;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(self.value_depth(depth + 1)?);
                }
                Value::Array(items)
            }
            0x80..=0x8f | 0xde | 0xdf => {
                self.pos -= 1;
                let n = self.map_len()?;
                let mut pairs = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let k = self.value_depth(depth + 1)?;
                    let v = self.value_depth(depth + 1)?;
                    pairs.push((k, v));
                }
                Value::Map(pairs)
            }
            _ => {
                // Extensions are not part of the ABI: skipped as nil.
                self.pos -= 1;
                self.skip_depth(depth)?;
                Value::Nil
            }
        })
    }
}

/// The canonical msgpack writer (docs/abi.md §6).
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer { buf: Vec::with_capacity(256) }
    }
    fn tagged(&mut self, tag: u8, v: u64, n: usize) {
        self.buf.push(tag);
        for i in (0..n).rev() {
            self.buf.push((v >> (8 * i)) as u8);
        }
    }
    fn header(&mut self, n: usize, fix: u8, fix_max: usize, c8: Option<u8>, c16: u8, c32: u8) {
        if n <= fix_max {
            self.buf.push(fix | n as u8);
        } else if c8.is_some() && n <= 0xff {
            self.tagged(c8.unwrap_or(0), n as u64, 1);
        } else if n <= 0xffff {
            self.tagged(c16, n as u64, 2);
        } else {
            self.tagged(c32, n as u64, 4);
        }
    }
    pub fn nil(&mut self) {
        self.buf.push(0xc0);
    }
    pub fn bool(&mut self, b: bool) {
        self.buf.push(if b { 0xc3 } else { 0xc2 });
    }
    /// An integer in its shortest form.
    pub fn int(&mut self, v: i64) {
        if v >= 0 {
            self.uint(v as u64);
        } else if v >= -32 {
            self.buf.push(v as u8);
        } else if v >= -128 {
            self.tagged(0xd0, v as u8 as u64, 1);
        } else if v >= -32768 {
            self.tagged(0xd1, v as u16 as u64, 2);
        } else if v >= -2147483648 {
            self.tagged(0xd2, v as u32 as u64, 4);
        } else {
            self.tagged(0xd3, v as u64, 8);
        }
    }
    pub fn uint(&mut self, v: u64) {
        if v <= 0x7f {
            self.buf.push(v as u8);
        } else if v <= 0xff {
            self.tagged(0xcc, v, 1);
        } else if v <= 0xffff {
            self.tagged(0xcd, v, 2);
        } else if v <= 0xffff_ffff {
            self.tagged(0xce, v, 4);
        } else {
            self.tagged(0xcf, v, 8);
        }
    }
    /// Always float64.
    pub fn f64(&mut self, v: f64) {
        self.tagged(0xcb, v.to_bits(), 8);
    }
    pub fn str(&mut self, s: &str) {
        self.header(s.len(), 0xa0, 31, Some(0xd9), 0xda, 0xdb);
        self.buf.extend_from_slice(s.as_bytes());
    }
    pub fn bin(&mut self, b: &[u8]) {
        if b.len() <= 0xff {
            self.tagged(0xc4, b.len() as u64, 1);
        } else if b.len() <= 0xffff {
            self.tagged(0xc5, b.len() as u64, 2);
        } else {
            self.tagged(0xc6, b.len() as u64, 4);
        }
        self.buf.extend_from_slice(b);
    }
    pub fn array_len(&mut self, n: usize) {
        self.header(n, 0x90, 15, None, 0xdc, 0xdd);
    }
    pub fn map_len(&mut self, n: usize) {
        self.header(n, 0x80, 15, None, 0xde, 0xdf);
    }
    pub fn str_array(&mut self, items: &[String]) {
        self.array_len(items.len());
        for s in items {
            self.str(s);
        }
    }
    /// Any value, canonically.
    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Nil => self.nil(),
            Value::Bool(b) => self.bool(*b),
            Value::Int(i) => self.int(*i),
            Value::UInt(u) => self.uint(*u),
            Value::F64(f) => self.f64(*f),
            Value::Str(s) => self.str(s),
            Value::Bin(b) => self.bin(b),
            Value::Array(items) => {
                self.array_len(items.len());
                for x in items {
                    self.value(x);
                }
            }
            Value::Map(pairs) => {
                self.map_len(pairs.len());
                for (k, x) in pairs {
                    self.value(k);
                    self.value(x);
                }
            }
        }
    }
}
