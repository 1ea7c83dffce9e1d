package rules

import "strconv"

// Infinity is CRM_SCORE_INFINITY: scores saturate at ±1000000.
const Infinity = 1000000

// HealthScores are the values of the node-health-red/-yellow/-green cluster
// options, which give the score words "red", "yellow" and "green" their
// meaning (upstream keeps them in globals; here they are passed in).
type HealthScores struct{ Red, Yellow, Green int }

// ParseScore converts score text as char2score does, with the colour words
// worth 0. See HealthScores.ParseScore.
func ParseScore(s string) int { return HealthScores{}.ParseScore(s) }

// ParseScore converts score text as char2score does: "INFINITY"/"+INFINITY"
// and "-INFINITY" (case-sensitive), the colour words (case-insensitive),
// else a strtoll number with trailing text ignored, clamped to ±INFINITY.
// Text without a number is 0; a number too large for 64 bits is 0 too (the
// failed scan leaves the default), as upstream.
func (h HealthScores) ParseScore(s string) int {
	switch {
	case s == "-INFINITY":
		return -Infinity
	case s == "INFINITY" || s == "+INFINITY":
		return Infinity
	case equalFold(s, "red"):
		return h.Red
	case equalFold(s, "yellow"):
		return h.Yellow
	case equalFold(s, "green"):
		return h.Green
	}
	v, _ := scanLL(s, 0)
	switch {
	case v > Infinity:
		return Infinity
	case v < -Infinity:
		return -Infinity
	}
	return int(v)
}

// ParseScoreStrict is ParseScore for validation: it also reports text that
// is not a score at all (upstream silently reads it as 0).
func ParseScoreStrict(s string) (int, error) {
	switch s {
	case "-INFINITY", "INFINITY", "+INFINITY":
		return ParseScore(s), nil
	}
	if equalFold(s, "red") || equalFold(s, "yellow") || equalFold(s, "green") {
		return 0, nil
	}
	v, end, ok, _ := strtoll(s)
	if !ok || end != len(s) {
		return 0, &strconvError{s}
	}
	return ParseScore(strconv.FormatInt(v, 10)), nil
}

type strconvError struct{ s string }

func (e *strconvError) Error() string { return "invalid score " + strconv.Quote(e.s) }

// AddScores adds two scores as pcmk__add_scores does: -INFINITY absorbs
// everything (even +INFINITY), then +INFINITY, and finite sums clamp.
func AddScores(a, b int) int {
	switch {
	case a <= -Infinity || b <= -Infinity:
		return -Infinity
	case a >= Infinity || b >= Infinity:
		return Infinity
	}
	s := a + b
	switch {
	case s >= Infinity:
		return Infinity
	case s <= -Infinity:
		return -Infinity
	}
	return s
}

// ScoreString renders a score as pcmk_readable_score does.
func ScoreString(v int) string {
	switch {
	case v >= Infinity:
		return "INFINITY"
	case v <= -Infinity:
		return "-INFINITY"
	}
	return strconv.Itoa(v)
}

// equalFold is an ASCII case-insensitive comparison (strcasecmp == 0).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// strcasecmp is C strcasecmp in the C locale.
func strcasecmp(a, b string) int {
	for i := 0; ; i++ {
		var ca, cb byte
		if i < len(a) {
			ca = lower(a[i])
		}
		if i < len(b) {
			cb = lower(b[i])
		}
		if ca != cb {
			return int(ca) - int(cb)
		}
		if ca == 0 {
			return 0
		}
	}
}
