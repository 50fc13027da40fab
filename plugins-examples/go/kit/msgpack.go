package kit

import (
	"errors"
	"math"
)

// A small msgpack reader and the canonical writer of docs/abi.md §6:
// integers in their shortest form, floats as float64, strings as str,
// bytes as bin, maps in the order they were built.

// Kind is the kind of a decoded Value.
type Kind uint8

const (
	Nil Kind = iota
	Bool
	Int   // every integer that fits an int64
	Uint  // integers above math.MaxInt64
	Float // float32 values are widened
	Str
	Bin
	Array
	Map
)

// Value is a decoded msgpack value. Maps keep their order.
type Value struct {
	Kind  Kind
	B     bool
	I     int64
	U     uint64
	F     float64
	S     string
	Bytes []byte
	Items []Value
	Pairs []Pair
}

// Pair is one map entry.
type Pair struct {
	Key, Val Value
}

// StrValue, IntValue, FloatValue, BoolValue and BinValue build values.
func StrValue(s string) Value      { return Value{Kind: Str, S: s} }
func IntValue(i int64) Value       { return Value{Kind: Int, I: i} }
func FloatValue(f float64) Value   { return Value{Kind: Float, F: f} }
func BoolValue(b bool) Value       { return Value{Kind: Bool, B: b} }
func BinValue(b []byte) Value      { return Value{Kind: Bin, Bytes: b} }
func MapValue(pairs ...Pair) Value { return Value{Kind: Map, Pairs: pairs} }

// Get returns the value at string key k of a map.
func (v *Value) Get(k string) (*Value, bool) {
	if v == nil || v.Kind != Map {
		return nil, false
	}
	for i := range v.Pairs {
		p := &v.Pairs[i]
		if p.Key.Kind == Str && p.Key.S == k {
			return &p.Val, true
		}
	}
	return nil, false
}

// IsNumber reports whether v is an integer or a float.
func (v *Value) IsNumber() bool { return v.Kind == Int || v.Kind == Uint || v.Kind == Float }

// Float64 returns a number as float64.
func (v *Value) Float64() (float64, bool) {
	switch v.Kind {
	case Int:
		return float64(v.I), true
	case Uint:
		return float64(v.U), true
	case Float:
		return v.F, true
	}
	return 0, false
}

// Int64 returns a number as int64 (floats truncated toward zero, saturating).
func (v *Value) Int64() (int64, bool) {
	switch v.Kind {
	case Int:
		return v.I, true
	case Uint:
		if v.U > math.MaxInt64 {
			return math.MaxInt64, true
		}
		return int64(v.U), true
	case Float:
		f := v.F
		switch {
		case f != f:
			return 0, true
		case f >= math.MaxInt64:
			return math.MaxInt64, true
		case f <= math.MinInt64:
			return math.MinInt64, true
		}
		return int64(f), true
	}
	return 0, false
}

// Set sets key k of a map value: replaces in place when present, else appends.
func (v *Value) Set(k string, val Value) {
	if v.Kind != Map {
		return
	}
	for i := range v.Pairs {
		if v.Pairs[i].Key.Kind == Str && v.Pairs[i].Key.S == k {
			v.Pairs[i].Val = val
			return
		}
	}
	v.Pairs = append(v.Pairs, Pair{StrValue(k), val})
}

var (
	errEOF      = errors.New("unexpected end of input")
	errType     = errors.New("invalid msgpack type")
	errExpected = errors.New("unexpected msgpack type")
	errDepth    = errors.New("nesting too deep")
)

const maxDepth = 64

// Reader reads msgpack from a byte slice, front to back.
type Reader struct {
	buf []byte
	Pos int
}

// NewReader reads buf.
func NewReader(buf []byte) *Reader { return &Reader{buf: buf} }

func (r *Reader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.buf)-r.Pos) {
		return nil, errEOF
	}
	s := r.buf[r.Pos : r.Pos+int(n)]
	r.Pos += int(n)
	return s, nil
}

func (r *Reader) byte() (byte, error) {
	if r.Pos >= len(r.buf) {
		return 0, errEOF
	}
	b := r.buf[r.Pos]
	r.Pos++
	return b, nil
}

func (r *Reader) be(n int) (uint64, error) {
	s, err := r.take(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, b := range s {
		v = v<<8 | uint64(b)
	}
	return v, nil
}

// Peek returns the next type byte (0xc1, never used by msgpack, at the end).
func (r *Reader) Peek() byte {
	if r.Pos >= len(r.buf) {
		return 0xc1
	}
	return r.buf[r.Pos]
}

// Nil consumes a nil and reports whether there was one.
func (r *Reader) Nil() bool {
	if r.Peek() == 0xc0 {
		r.Pos++
		return true
	}
	return false
}

// MapLen reads a map header.
func (r *Reader) MapLen() (int, error) {
	b, err := r.byte()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case b >= 0x80 && b <= 0x8f:
		return int(b & 0x0f), nil
	case b == 0xde:
		n, err = r.be(2)
	case b == 0xdf:
		n, err = r.be(4)
	default:
		return 0, errExpected
	}
	return int(n), err
}

// ArrayLen reads an array header.
func (r *Reader) ArrayLen() (int, error) {
	b, err := r.byte()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case b >= 0x90 && b <= 0x9f:
		return int(b & 0x0f), nil
	case b == 0xdc:
		n, err = r.be(2)
	case b == 0xdd:
		n, err = r.be(4)
	default:
		return 0, errExpected
	}
	return int(n), err
}

func isStr(b byte) bool   { return (b >= 0xa0 && b <= 0xbf) || b == 0xd9 || b == 0xda || b == 0xdb }
func isBin(b byte) bool   { return b == 0xc4 || b == 0xc5 || b == 0xc6 }
func isArray(b byte) bool { return (b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd }

func (r *Reader) lenOf(b byte) (uint64, error) {
	switch b {
	case 0xd9, 0xc4:
		return r.be(1)
	case 0xda, 0xc5:
		return r.be(2)
	case 0xdb, 0xc6:
		return r.be(4)
	}
	return uint64(b & 0x1f), nil
}

// StrBytes reads a str and returns its raw bytes (a view into the input).
func (r *Reader) StrBytes() ([]byte, error) {
	b, err := r.byte()
	if err != nil {
		return nil, err
	}
	if !isStr(b) {
		return nil, errExpected
	}
	n, err := r.lenOf(b)
	if err != nil {
		return nil, err
	}
	return r.take(n)
}

// String reads a str.
func (r *Reader) String() (string, error) {
	s, err := r.StrBytes()
	return string(s), err
}

// StringOrEmpty reads a str, or skips any other value and returns "".
func (r *Reader) StringOrEmpty() (string, error) {
	if isStr(r.Peek()) {
		return r.String()
	}
	return "", r.Skip()
}

// BytesOrNil reads bin (or str) bytes; nil for msgpack nil.
func (r *Reader) BytesOrNil() ([]byte, error) {
	if r.Nil() {
		return nil, nil
	}
	b, err := r.byte()
	if err != nil {
		return nil, err
	}
	if !isStr(b) && !isBin(b) {
		return nil, errExpected
	}
	n, err := r.lenOf(b)
	if err != nil {
		return nil, err
	}
	s, err := r.take(n)
	if err != nil {
		return nil, err
	}
	return append([]byte{}, s...), nil
}

// Int reads any number as int64 (floats truncated); 0 for nil.
func (r *Reader) Int() (int64, error) {
	v, err := r.Value()
	if err != nil || v.Kind == Nil {
		return 0, err
	}
	i, ok := v.Int64()
	if !ok {
		return 0, errExpected
	}
	return i, nil
}

// Skip skips one value of any kind.
func (r *Reader) Skip() error { return r.skip(0) }

func (r *Reader) skip(depth int) error {
	if depth > maxDepth {
		return errDepth
	}
	b, err := r.byte()
	if err != nil {
		return err
	}
	var skip, items uint64
	switch {
	case b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3:
	case b >= 0x80 && b <= 0x8f:
		items = 2 * uint64(b&0x0f)
	case b >= 0x90 && b <= 0x9f:
		items = uint64(b & 0x0f)
	case b >= 0xa0 && b <= 0xbf:
		skip = uint64(b & 0x1f)
	case b == 0xcc || b == 0xd0:
		skip = 1
	case b == 0xcd || b == 0xd1:
		skip = 2
	case b == 0xce || b == 0xd2 || b == 0xca:
		skip = 4
	case b == 0xcf || b == 0xd3 || b == 0xcb:
		skip = 8
	case b == 0xd9 || b == 0xc4:
		skip, err = r.be(1)
	case b == 0xda || b == 0xc5:
		skip, err = r.be(2)
	case b == 0xdb || b == 0xc6:
		skip, err = r.be(4)
	case b == 0xdc:
		items, err = r.be(2)
	case b == 0xdd:
		items, err = r.be(4)
	case b == 0xde:
		items, err = r.be(2)
		items *= 2
	case b == 0xdf:
		items, err = r.be(4)
		items *= 2
	case b == 0xd4:
		skip = 2
	case b == 0xd5:
		skip = 3
	case b == 0xd6:
		skip = 5
	case b == 0xd7:
		skip = 9
	case b == 0xd8:
		skip = 17
	case b == 0xc7:
		skip, err = r.be(1)
		skip++
	case b == 0xc8:
		skip, err = r.be(2)
		skip++
	case b == 0xc9:
		skip, err = r.be(4)
		skip++
	default:
		return errType
	}
	if err != nil {
		return err
	}
	if _, err := r.take(skip); err != nil {
		return err
	}
	for i := uint64(0); i < items; i++ {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// Value reads one value of any kind into a tree.
func (r *Reader) Value() (Value, error) { return r.value(0) }

func (r *Reader) value(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, errDepth
	}
	b, err := r.byte()
	if err != nil {
		return Value{}, err
	}
	if isStr(b) || isBin(b) {
		n, err := r.lenOf(b)
		if err != nil {
			return Value{}, err
		}
		s, err := r.take(n)
		if err != nil {
			return Value{}, err
		}
		if isStr(b) {
			return StrValue(string(s)), nil
		}
		return BinValue(append([]byte{}, s...)), nil
	}
	switch {
	case b <= 0x7f:
		return IntValue(int64(b)), nil
	case b >= 0xe0:
		return IntValue(int64(int8(b))), nil
	case b == 0xc0:
		return Value{}, nil
	case b == 0xc2:
		return BoolValue(false), nil
	case b == 0xc3:
		return BoolValue(true), nil
	case b >= 0xcc && b <= 0xcf:
		u, err := r.be(1 << (b - 0xcc))
		if u > math.MaxInt64 {
			return Value{Kind: Uint, U: u}, err
		}
		return IntValue(int64(u)), err
	case b == 0xd0:
		u, err := r.be(1)
		return IntValue(int64(int8(u))), err
	case b == 0xd1:
		u, err := r.be(2)
		return IntValue(int64(int16(u))), err
	case b == 0xd2:
		u, err := r.be(4)
		return IntValue(int64(int32(u))), err
	case b == 0xd3:
		u, err := r.be(8)
		return IntValue(int64(u)), err
	case b == 0xca:
		u, err := r.be(4)
		return FloatValue(float64(math.Float32frombits(uint32(u)))), err
	case b == 0xcb:
		u, err := r.be(8)
		return FloatValue(math.Float64frombits(u)), err
	case isArray(b):
		r.Pos--
		n, err := r.ArrayLen()
		if err != nil {
			return Value{}, err
		}
		items := make([]Value, 0, min(n, 1024))
		for i := 0; i < n; i++ {
			x, err := r.value(depth + 1)
			if err != nil {
				return Value{}, err
			}
			items = append(items, x)
		}
		return Value{Kind: Array, Items: items}, nil
	case (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf:
		r.Pos--
		n, err := r.MapLen()
		if err != nil {
			return Value{}, err
		}
		pairs := make([]Pair, 0, min(n, 1024))
		for i := 0; i < n; i++ {
			k, err := r.value(depth + 1)
			if err != nil {
				return Value{}, err
			}
			x, err := r.value(depth + 1)
			if err != nil {
				return Value{}, err
			}
			pairs = append(pairs, Pair{k, x})
		}
		return Value{Kind: Map, Pairs: pairs}, nil
	}
	// Extensions are not part of the ABI: skipped as nil.
	r.Pos--
	return Value{}, r.skip(depth)
}

// Writer is the canonical msgpack writer (docs/abi.md §6).
type Writer struct {
	Buf []byte
}

func (w *Writer) tagged(tag byte, v uint64, n int) {
	w.Buf = append(w.Buf, tag)
	for i := n - 1; i >= 0; i-- {
		w.Buf = append(w.Buf, byte(v>>(8*i)))
	}
}

func (w *Writer) header(n int, fix byte, fixMax int, c8 byte, c16, c32 byte) {
	switch {
	case n <= fixMax:
		w.Buf = append(w.Buf, fix|byte(n))
	case c8 != 0 && n <= 0xff:
		w.tagged(c8, uint64(n), 1)
	case n <= 0xffff:
		w.tagged(c16, uint64(n), 2)
	default:
		w.tagged(c32, uint64(n), 4)
	}
}

// Nil writes nil.
func (w *Writer) Nil() { w.Buf = append(w.Buf, 0xc0) }

// Bool writes a bool.
func (w *Writer) Bool(b bool) {
	if b {
		w.Buf = append(w.Buf, 0xc3)
	} else {
		w.Buf = append(w.Buf, 0xc2)
	}
}

// Int writes an integer in its shortest form.
func (w *Writer) Int(v int64) {
	switch {
	case v >= 0:
		w.Uint(uint64(v))
	case v >= -32:
		w.Buf = append(w.Buf, byte(v))
	case v >= -128:
		w.tagged(0xd0, uint64(uint8(v)), 1)
	case v >= -32768:
		w.tagged(0xd1, uint64(uint16(v)), 2)
	case v >= -2147483648:
		w.tagged(0xd2, uint64(uint32(v)), 4)
	default:
		w.tagged(0xd3, uint64(v), 8)
	}
}

// Uint writes a non-negative integer in its shortest form.
func (w *Writer) Uint(v uint64) {
	switch {
	case v <= 0x7f:
		w.Buf = append(w.Buf, byte(v))
	case v <= 0xff:
		w.tagged(0xcc, v, 1)
	case v <= 0xffff:
		w.tagged(0xcd, v, 2)
	case v <= 0xffffffff:
		w.tagged(0xce, v, 4)
	default:
		w.tagged(0xcf, v, 8)
	}
}

// Float writes a float64.
func (w *Writer) Float(f float64) { w.tagged(0xcb, math.Float64bits(f), 8) }

// Str writes a str.
func (w *Writer) Str(s string) {
	w.header(len(s), 0xa0, 31, 0xd9, 0xda, 0xdb)
	w.Buf = append(w.Buf, s...)
}

// Bin writes bin.
func (w *Writer) Bin(b []byte) {
	switch {
	case len(b) <= 0xff:
		w.tagged(0xc4, uint64(len(b)), 1)
	case len(b) <= 0xffff:
		w.tagged(0xc5, uint64(len(b)), 2)
	default:
		w.tagged(0xc6, uint64(len(b)), 4)
	}
	w.Buf = append(w.Buf, b...)
}

// ArrayLen writes an array header.
func (w *Writer) ArrayLen(n int) { w.header(n, 0x90, 15, 0, 0xdc, 0xdd) }

// MapLen writes a map header.
func (w *Writer) MapLen(n int) { w.header(n, 0x80, 15, 0, 0xde, 0xdf) }

// StrArray writes an array of str.
func (w *Writer) StrArray(items []string) {
	w.ArrayLen(len(items))
	for _, s := range items {
		w.Str(s)
	}
}

// Value writes any value canonically.
func (w *Writer) Value(v Value) {
	switch v.Kind {
	case Nil:
		w.Nil()
	case Bool:
		w.Bool(v.B)
	case Int:
		w.Int(v.I)
	case Uint:
		w.Uint(v.U)
	case Float:
		w.Float(v.F)
	case Str:
		w.Str(v.S)
	case Bin:
		w.Bin(v.Bytes)
	case Array:
		w.ArrayLen(len(v.Items))
		for _, x := range v.Items {
			w.Value(x)
		}
	case Map:
		w.MapLen(len(v.Pairs))
		for _, p := range v.Pairs {
			w.Value(p.Key)
			w.Value(p.Val)
		}
	}
}
