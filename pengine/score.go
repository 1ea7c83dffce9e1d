package pengine

import (
	"strconv"
	"strings"
)

// Infinity is Pacemaker's CRM_SCORE_INFINITY: scores saturate at ±1000000.
const Infinity = 1000000

// addScore adds two scores with Pacemaker's saturation rules
// (pcmk__add_scores): -INFINITY wins over +INFINITY, and sums clamp.
func addScore(a, b int) int {
	if a <= -Infinity || b <= -Infinity {
		return -Infinity
	}
	if a >= Infinity || b >= Infinity {
		return Infinity
	}
	s := a + b
	if s >= Infinity {
		return Infinity
	}
	if s <= -Infinity {
		return -Infinity
	}
	return s
}

// parseScore converts a score string as char2score does: INFINITY with an
// optional sign, the node-health colour names, or an integer (clamped).
// Unparseable text counts as 0, as in Pacemaker.
func parseScore(s string, health map[string]int) int {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return 0
	case "infinity", "+infinity":
		return Infinity
	case "-infinity":
		return -Infinity
	case "red":
		return health["red"]
	case "yellow":
		return health["yellow"]
	case "green":
		return health["green"]
	}
	// strtoll-like: leading sign and digits, ignore the rest
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0
	}
	v, err := strconv.ParseInt(s[:j], 10, 64)
	if err != nil {
		if s[0] == '-' {
			return -Infinity
		}
		return Infinity
	}
	if v >= Infinity {
		return Infinity
	}
	if v <= -Infinity {
		return -Infinity
	}
	return int(v)
}

// scoreString renders a score as Pacemaker prints it.
func scoreString(v int) string {
	switch {
	case v >= Infinity:
		return "INFINITY"
	case v <= -Infinity:
		return "-INFINITY"
	}
	return strconv.Itoa(v)
}
