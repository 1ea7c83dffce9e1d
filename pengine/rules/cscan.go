package rules

// Pacemaker parses dates and numbers with sscanf, strtoll and strtod, and
// several of its accepted (and refused) spellings follow from how those C
// functions behave on odd input. The helpers here reproduce that behaviour on
// Go strings so that the parsers above them can be written the way upstream's
// are and agree with it on every input, odd or not.

// cIsSpace is C isspace() in the C locale.
func cIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func cIsDigit(c byte) bool { return c >= '0' && c <= '9' }

// i32 truncates to a C int, the width Pacemaker's time fields have.
func i32(v int64) int { return int(int32(v)) }

// scanfInts emulates glibc sscanf(s, format, ...) for formats made only of
// "%d" / "%Nd" conversions and literal characters (no whitespace directives),
// such as "%d-%d-%d" or "%4d%2d%2d". It returns the values converted and
// sscanf's return value: the number of conversions, or -1 (EOF) when the
// input ran out before the first conversion.
func scanfInts(s, format string) (vals []int, rc int) {
	pos := 0
	for f := 0; f < len(format); f++ {
		if format[f] != '%' {
			if pos >= len(s) {
				if len(vals) == 0 {
					return vals, -1
				}
				return vals, len(vals)
			}
			if s[pos] != format[f] {
				return vals, len(vals)
			}
			pos++
			continue
		}
		f++
		width := 0
		for f < len(format) && cIsDigit(format[f]) {
			width = width*10 + int(format[f]-'0')
			f++
		}
		// format[f] is 'd'
		for pos < len(s) && cIsSpace(s[pos]) {
			pos++
		}
		if pos >= len(s) {
			if len(vals) == 0 {
				return vals, -1
			}
			return vals, len(vals)
		}
		limit := len(s)
		if width > 0 && pos+width < limit {
			limit = pos + width
		}
		p := pos
		neg := false
		if p < limit && (s[p] == '+' || s[p] == '-') {
			neg = s[p] == '-'
			p++
		}
		start := p
		var v int64
		overflow := false
		for p < limit && cIsDigit(s[p]) {
			d := int64(s[p] - '0')
			if v > (1<<63-1-d)/10 {
				overflow = true
			} else {
				v = v*10 + d
			}
			p++
		}
		if p == start {
			return vals, len(vals)
		}
		// glibc converts with strtol (a 64-bit long here, saturating) and
		// stores the result into an int.
		switch {
		case overflow && neg:
			v = -1 << 63
		case overflow:
			v = 1<<63 - 1
		case neg:
			v = -v
		}
		vals = append(vals, int(int32(v)))
		pos = p
	}
	return vals, len(vals)
}

// strtoll emulates C strtoll(s, &end, 10): leading whitespace, an optional
// sign, then digits. ok is false when no digits were found; overflow reports
// ERANGE (the value is then clipped to the long long range).
func strtoll(s string) (v int64, end int, ok, overflow bool) {
	p := 0
	for p < len(s) && cIsSpace(s[p]) {
		p++
	}
	neg := false
	if p < len(s) && (s[p] == '+' || s[p] == '-') {
		neg = s[p] == '-'
		p++
	}
	start := p
	var u uint64
	for p < len(s) && cIsDigit(s[p]) {
		d := uint64(s[p] - '0')
		if u > (1<<64-1-d)/10 {
			overflow = true
		} else if !overflow {
			u = u*10 + d
		}
		p++
	}
	if p == start {
		return 0, 0, false, false
	}
	switch {
	case neg && (overflow || u > 1<<63):
		return -1 << 63, p, true, true
	case !neg && (overflow || u > 1<<63-1):
		return 1<<63 - 1, p, true, true
	case neg:
		return -int64(u), p, true, false
	}
	return int64(u), p, true, false
}

// scanLL is Pacemaker's pcmk__scan_ll: strtoll, where anything but a clean
// conversion (trailing text is fine) yields the default and a non-nil error.
func scanLL(s string, def int64) (int64, error) {
	v, _, ok, overflow := strtoll(s)
	switch {
	case !ok:
		return def, errNoDigits
	case overflow:
		return def, errOverflow
	}
	return v, nil
}
