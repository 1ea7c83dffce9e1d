package conf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// ValueType is the type of a cmap value, numbered as corosync's cmap_value_types_t
// (include/corosync/cmap.h), which is also how the type travels on the cmap IPC wire.
type ValueType uint8

const (
	TypeI8     ValueType = 1
	TypeU8     ValueType = 2
	TypeI16    ValueType = 3
	TypeU16    ValueType = 4
	TypeI32    ValueType = 5
	TypeU32    ValueType = 6
	TypeI64    ValueType = 7
	TypeU64    ValueType = 8
	TypeFloat  ValueType = 9
	TypeDouble ValueType = 10
	TypeString ValueType = 11
	TypeBinary ValueType = 12
)

var typeNames = [...]string{
	TypeI8: "i8", TypeU8: "u8", TypeI16: "i16", TypeU16: "u16", TypeI32: "i32", TypeU32: "u32",
	TypeI64: "i64", TypeU64: "u64", TypeFloat: "flt", TypeDouble: "dbl", TypeString: "str", TypeBinary: "bin",
}

// String returns the short name corosync-cmapctl prints in parentheses.
func (t ValueType) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("type%d", uint8(t))
}

// Valid reports whether t is one of the twelve cmap types.
func (t ValueType) Valid() bool { return t >= TypeI8 && t <= TypeBinary }

// FixedSize is the wire size of a numeric type, or 0 for string and binary.
func (t ValueType) FixedSize() int {
	switch t {
	case TypeI8, TypeU8:
		return 1
	case TypeI16, TypeU16:
		return 2
	case TypeI32, TypeU32, TypeFloat:
		return 4
	case TypeI64, TypeU64, TypeDouble:
		return 8
	}
	return 0
}

// Value is one cmap value: its type and its bytes exactly as cmap stores them
// (little-endian numbers; strings without a trailing NUL).
type Value struct {
	Type ValueType
	Data []byte
}

// Uint returns an unsigned value of the given type.
func Uint(t ValueType, v uint64) Value {
	b := make([]byte, t.FixedSize())
	switch len(b) {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(b, v)
	}
	return Value{Type: t, Data: b}
}

// Int returns a signed value of the given type.
func Int(t ValueType, v int64) Value { return Uint(t, uint64(v)) }

// U8, U16, U32, U64, I32 and Str are the constructors the key tree uses most.
func U8(v uint8) Value   { return Uint(TypeU8, uint64(v)) }
func U16(v uint16) Value { return Uint(TypeU16, uint64(v)) }
func U32(v uint32) Value { return Uint(TypeU32, uint64(v)) }
func U64(v uint64) Value { return Uint(TypeU64, v) }
func I32(v int32) Value  { return Int(TypeI32, int64(v)) }
func Str(s string) Value { return Value{Type: TypeString, Data: []byte(s)} }

// Float and Double return floating-point values.
func Float(v float32) Value {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, math.Float32bits(v))
	return Value{Type: TypeFloat, Data: b}
}

func Double(v float64) Value {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, math.Float64bits(v))
	return Value{Type: TypeDouble, Data: b}
}

// AsUint returns the value of an unsigned or signed integer type widened to 64 bits
// (sign-extended for signed types), and false for any other type or a short buffer.
func (v Value) AsUint() (uint64, bool) {
	n := v.Type.FixedSize()
	if n == 0 || v.Type == TypeFloat || v.Type == TypeDouble || len(v.Data) < n {
		return 0, false
	}
	switch v.Type {
	case TypeI8:
		return uint64(int64(int8(v.Data[0]))), true
	case TypeU8:
		return uint64(v.Data[0]), true
	case TypeI16:
		return uint64(int64(int16(binary.LittleEndian.Uint16(v.Data)))), true
	case TypeU16:
		return uint64(binary.LittleEndian.Uint16(v.Data)), true
	case TypeI32:
		return uint64(int64(int32(binary.LittleEndian.Uint32(v.Data)))), true
	case TypeU32:
		return uint64(binary.LittleEndian.Uint32(v.Data)), true
	}
	return binary.LittleEndian.Uint64(v.Data), true
}

// String renders the value as corosync-cmapctl prints it after "= ".
func (v Value) String() string {
	if n := v.Type.FixedSize(); n > 0 && len(v.Data) < n {
		return "<short value>"
	}
	switch v.Type {
	case TypeI8, TypeI16, TypeI32, TypeI64:
		u, _ := v.AsUint()
		return strconv.FormatInt(int64(u), 10)
	case TypeU8, TypeU16, TypeU32, TypeU64:
		u, _ := v.AsUint()
		return strconv.FormatUint(u, 10)
	case TypeFloat:
		return strconv.FormatFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(v.Data))), 'f', 6, 32)
	case TypeDouble:
		return strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(v.Data)), 'f', 6, 64)
	case TypeString:
		return string(v.Data)
	}
	return fmt.Sprintf("%x", v.Data)
}

// Equal reports whether two values have the same type and bytes.
func (v Value) Equal(o Value) bool { return v.Type == o.Type && string(v.Data) == string(o.Data) }
