package cmapctl

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"ringmaster/conf"
)

// FormatKey renders one key as corosync-cmapctl's print_key does:
// "name (type) = value", or just the value in quiet mode. Binary values are
// shown only with -b ("name (bin)" otherwise). The line has no newline.
func FormatKey(key string, v conf.Value, quiet, showBinary bool) string {
	var b strings.Builder
	if !quiet {
		b.WriteString(key + " (")
	}
	if v.Type == conf.TypeBinary {
		// print_key writes "bin)" even in quiet mode.
		b.WriteString("bin)")
		if showBinary {
			b.WriteString(" = ")
			if v.Data == nil {
				b.WriteString("*empty*")
			} else {
				b.WriteString(binaryText(v.Data))
			}
		}
		return b.String()
	}
	if !v.Type.Valid() {
		// An unknown type prints nothing after the parenthesis.
		return b.String()
	}
	if !quiet {
		b.WriteString(v.Type.String() + ") = ")
	}
	b.WriteString(valueText(v))
	return b.String()
}

// valueText is the printf conversion print_key uses for each type.
func valueText(v conf.Value) string {
	switch v.Type {
	case conf.TypeFloat:
		if len(v.Data) < 4 {
			return ""
		}
		return cFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(v.Data))))
	case conf.TypeDouble:
		if len(v.Data) < 8 {
			return ""
		}
		return cFloat(math.Float64frombits(binary.LittleEndian.Uint64(v.Data)))
	case conf.TypeString:
		s := string(v.Data)
		if i := strings.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return s
	}
	return v.String()
}

// cFloat is printf("%f") of glibc, including its spelling of the special values.
func cFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}

// binaryText is print_binary_key: printable ASCII as is, a backslash doubled,
// anything else as \xNN. The C code keeps the byte in a (signed) char, so bytes
// from 0x80 up print sign-extended: \xFFFFFF80.
func binaryText(data []byte) string {
	var b strings.Builder
	for _, c := range data {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c >= ' ' && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02X`, uint32(int32(int8(c))))
		}
	}
	return b.String()
}

// scanInt parses like sscanf("%" PRId64): leading white space, an optional sign,
// decimal digits, anything after them ignored; out of range clamps (strtoll).
func scanInt(s string) (int64, bool) {
	neg, digits, ok := scanDigits(s)
	if !ok {
		return 0, false
	}
	u, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || (!neg && u > math.MaxInt64) {
		if neg {
			return math.MinInt64, true
		}
		return math.MaxInt64, true
	}
	if neg {
		if u > 1<<63 {
			return math.MinInt64, true
		}
		return -int64(u), true
	}
	return int64(u), true
}

// scanUint parses like sscanf("%" PRIu64), which accepts a minus sign and
// negates in unsigned arithmetic (strtoull): "-1" is 18446744073709551615.
func scanUint(s string) (uint64, bool) {
	neg, digits, ok := scanDigits(s)
	if !ok {
		return 0, false
	}
	u, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return math.MaxUint64, true
	}
	if neg {
		return -u, true
	}
	return u, true
}

func scanDigits(s string) (neg bool, digits string, ok bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return neg, s[:n], n > 0
}

// scanFloat parses like sscanf("%f"/"%lf"): after leading white space, the
// longest prefix that strtod reads (decimal or hexadecimal, inf, infinity, nan),
// found in one pass.
func scanFloat(s string, bits int) (float64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	rest := strings.ToLower(s[i:])
	switch {
	case strings.HasPrefix(rest, "infinity"):
		return parsePrefix(s[:i]+"inf", bits)
	case strings.HasPrefix(rest, "inf"), strings.HasPrefix(rest, "nan"):
		return parsePrefix(s[:i+3], bits)
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isHex := func(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	digits, expMark := isDigit, byte('e')
	if strings.HasPrefix(rest, "0x") && len(rest) > 2 && (isHex(rest[2]) || rest[2] == '.' && len(rest) > 3 && isHex(rest[3])) {
		i += 2
		digits, expMark = isHex, 'p'
	}
	n := 0
	for i < len(s) && digits(s[i]) {
		i, n = i+1, n+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && digits(s[i]) {
			i, n = i+1, n+1
		}
	}
	if n == 0 {
		return 0, false
	}
	mant := i
	if i < len(s) && (s[i]|0x20) == expMark {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k > j {
			i = k
		}
	}
	if expMark == 'p' && i == mant {
		// Go wants an exponent on hexadecimal floats; strtod does not.
		return parsePrefix(s[:i]+"p0", bits)
	}
	return parsePrefix(s[:i], bits)
}

func parsePrefix(p string, bits int) (float64, bool) {
	f, err := strconv.ParseFloat(p, bits)
	if err != nil && !isRange(err) {
		return 0, false
	}
	return f, true
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
