package rules

import (
	"math"
	"strconv"
	"strings"
)

// acceptAttr is accept_attr_expr: have is the node's value (nil when the
// node lacks the attribute), value the expression's (nil when absent).
func acceptAttr(have, value, typ, op *string) bool {
	o := ""
	if op != nil {
		o = *op
	}
	switch {
	case equalFold(o, "defined"):
		return have != nil
	case equalFold(o, "not_defined"):
		return have == nil
	}
	cmp := compareValues(have, value, typ, op)
	switch {
	case equalFold(o, "eq"):
		return cmp == 0
	case equalFold(o, "ne"):
		return cmp != 0
	case have == nil || value == nil:
		return false
	case equalFold(o, "lt"):
		return cmp < 0
	case equalFold(o, "lte"):
		return cmp <= 0
	case equalFold(o, "gt"):
		return cmp > 0
	case equalFold(o, "gte"):
		return cmp >= 0
	}
	return false
}

// compareValues is compare_attr_expr_vals. Without a type, ordering
// operators compare as "number" if either side holds a '.', else as
// "integer", and eq/ne compare as "string". Numbers that do not parse fall
// back to a string comparison; "string" ignores case; an unknown type
// compares equal.
func compareValues(l, r, typ, op *string) int {
	switch {
	case l == nil && r == nil:
		return 0
	case r == nil:
		return 1
	case l == nil:
		return -1
	}
	t := ""
	if typ != nil {
		t = *typ
	} else {
		o := ""
		if op != nil {
			o = *op
		}
		if equalFold(o, "lt") || equalFold(o, "lte") || equalFold(o, "gt") || equalFold(o, "gte") {
			if strings.IndexByte(*l, '.') >= 0 || strings.IndexByte(*r, '.') >= 0 {
				t = "number"
			} else {
				t = "integer"
			}
		} else {
			t = "string"
		}
	}
	return compareAs(*l, *r, t)
}

// CompareAs compares two attribute values as a rule expression of the given
// type does ("string", "integer", "number" or "version").
func CompareAs(l, r, typ string) int { return compareAs(l, r, typ) }

func compareAs(l, r, t string) int {
	switch {
	case equalFold(t, "string"):
		return sign(strcasecmp(l, r))
	case equalFold(t, "integer"):
		a, err1 := scanLL(l, 0)
		b, err2 := scanLL(r, 0)
		if err1 != nil || err2 != nil {
			return sign(strcasecmp(l, r))
		}
		return cmpInt64(a, b)
	case equalFold(t, "number"):
		a, ok1 := scanDouble(l)
		b, ok2 := scanDouble(r)
		if !ok1 || !ok2 {
			return sign(strcasecmp(l, r))
		}
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	case equalFold(t, "version"):
		return CompareVersion(l, r)
	}
	return 0
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CompareVersion compares dotted versions field by field as numbers
// (compare_version): a side that has run out counts 0, so "1.0" == "1".
// Upstream loops forever when neither side can make progress (a field that
// does not start with a number); here that ends the comparison as equal.
func CompareVersion(a, b string) int {
	i, j := 0, 0
	aDone, bDone := false, false
	for !(aDone && bDone) {
		d1, d2 := 0, 0
		pi, pj := i, j
		if !aDone {
			d1, i = versionField(a, i)
		}
		if !bDone {
			d2, j = versionField(b, j)
		}
		if d1 != d2 {
			return cmpInt(d1, d2)
		}
		if !aDone && i < len(a) && a[i] == '.' {
			i++
		}
		if !aDone && i >= len(a) {
			aDone = true
		}
		if !bDone && j < len(b) && b[j] == '.' {
			j++
		}
		if !bDone && j >= len(b) {
			bDone = true
		}
		if i == pi && j == pj {
			return 0
		}
	}
	return 0
}

// versionField is version_helper: strtol from s[i:], as a C int.
func versionField(s string, i int) (int, int) {
	if i >= len(s) {
		return -1, i
	}
	v, end, ok, _ := strtoll(s[i:])
	if !ok {
		return 0, i
	}
	return int(int32(v)), i + end
}

// scanDouble is pcmk__scan_double's success test on C strtod: a number
// must start the text (after blanks); overflow and underflow are failures.
func scanDouble(s string) (float64, bool) {
	p := 0
	for p < len(s) && cIsSpace(s[p]) {
		p++
	}
	n := strtodPrefix(s[p:])
	if n == 0 {
		return 0, false
	}
	text := s[p : p+n]
	parse := text
	low := strings.ToLower(text)
	if k := strings.Index(low, "0x"); k >= 0 && !strings.ContainsAny(low, "p") {
		parse = text + "p0"
	}
	if k := strings.IndexByte(parse, '('); k >= 0 { // nan(chars)
		parse = parse[:k]
	}
	v, err := strconv.ParseFloat(parse, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, false
		}
		return 0, false
	}
	if v != 0 && math.Abs(v) < 0x1p-1022 {
		return v, false // underflow
	}
	if v == 0 {
		for _, c := range text {
			if !strings.ContainsRune("0.eE+-", c) {
				// a non-zero spelling that came out as 0: underflow
				return v, false
			}
		}
	}
	return v, true
}

// strtodPrefix returns the length of the longest prefix of s that C strtod
// would consume (0 for none): decimal or hexadecimal numbers with optional
// sign, fraction and exponent, "inf", "infinity", "nan", "nan(...)".
func strtodPrefix(s string) int {
	p := 0
	if p < len(s) && (s[p] == '+' || s[p] == '-') {
		p++
	}
	rest := strings.ToLower(s[p:])
	switch {
	case strings.HasPrefix(rest, "infinity"):
		return p + 8
	case strings.HasPrefix(rest, "inf"):
		return p + 3
	case strings.HasPrefix(rest, "nan"):
		q := p + 3
		if q < len(s) && s[q] == '(' {
			k := q + 1
			for k < len(s) && (cIsDigit(s[k]) || isAlpha(s[k]) || s[k] == '_') {
				k++
			}
			if k < len(s) && s[k] == ')' {
				return k + 1
			}
		}
		return q
	}
	hex := false
	digitOK := cIsDigit
	if strings.HasPrefix(rest, "0x") {
		q := p + 2
		if q < len(s) && (isHex(s[q]) || (s[q] == '.' && q+1 < len(s) && isHex(s[q+1]))) {
			hex = true
			p = q
			digitOK = isHex
		}
	}
	start := p
	for p < len(s) && digitOK(s[p]) {
		p++
	}
	mant := p - start
	if p < len(s) && s[p] == '.' {
		q := p + 1
		for q < len(s) && digitOK(s[q]) {
			q++
		}
		mant += q - p - 1
		if mant > 0 {
			p = q
		}
	}
	if mant == 0 {
		if hex {
			return start - 1 // "0x" alone: strtod takes the "0"
		}
		return 0
	}
	expChar := byte('e')
	if hex {
		expChar = 'p'
	}
	if p < len(s) && lower(s[p]) == expChar {
		q := p + 1
		if q < len(s) && (s[q] == '+' || s[q] == '-') {
			q++
		}
		if q < len(s) && cIsDigit(s[q]) {
			for q < len(s) && cIsDigit(s[q]) {
				q++
			}
			p = q
		}
	}
	return p
}

func isHex(c byte) bool {
	return cIsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
