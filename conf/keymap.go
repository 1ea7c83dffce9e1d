package conf

import (
	"sort"
	"strings"
)

// KV is one cmap entry: key name and typed value.
type KV struct {
	Key   string
	Value Value
}

// String renders the entry as corosync-cmapctl prints it:
// "totem.token (u32) = 3000".
func (kv KV) String() string {
	return kv.Key + " (" + kv.Value.Type.String() + ") = " + kv.Value.String()
}

// Map is a cmap key space as corosync's icmap holds it: one typed value per
// key, iterated in byte order of the key names (qb_map trie order, which is
// also corosync-cmapctl's output order).
type Map struct {
	m map[string]Value
}

// NewMap returns an empty map.
func NewMap() *Map { return &Map{m: make(map[string]Value)} }

// Get returns the value of key.
func (m *Map) Get(key string) (Value, bool) {
	v, ok := m.m[key]
	return v, ok
}

// Set stores a value, replacing any previous value and type.
func (m *Map) Set(key string, v Value) { m.m[key] = v }

// Delete removes key.
func (m *Map) Delete(key string) { delete(m.m, key) }

// Len is the number of keys.
func (m *Map) Len() int { return len(m.m) }

// String returns the value of a str key.
func (m *Map) String(key string) (string, bool) {
	v, ok := m.m[key]
	if !ok || v.Type != TypeString {
		return "", false
	}
	return string(v.Data), true
}

// Uint32 returns the value of a u32 key (icmap_get_uint32 fails on any other type).
func (m *Map) Uint32(key string) (uint32, bool) {
	v, ok := m.m[key]
	if !ok || v.Type != TypeU32 {
		return 0, false
	}
	u, _ := v.AsUint()
	return uint32(u), true
}

// Uint16 returns the value of a u16 key.
func (m *Map) Uint16(key string) (uint16, bool) {
	v, ok := m.m[key]
	if !ok || v.Type != TypeU16 {
		return 0, false
	}
	u, _ := v.AsUint()
	return uint16(u), true
}

// Uint8 returns the value of a u8 key.
func (m *Map) Uint8(key string) (uint8, bool) {
	v, ok := m.m[key]
	if !ok || v.Type != TypeU8 {
		return 0, false
	}
	u, _ := v.AsUint()
	return uint8(u), true
}

// Keys returns the key names starting with prefix, sorted as icmap iterates.
func (m *Map) Keys(prefix string) []string {
	out := make([]string, 0, len(m.m))
	for k := range m.m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// All returns every entry, sorted by key.
func (m *Map) All() []KV {
	keys := m.Keys("")
	out := make([]KV, len(keys))
	for i, k := range keys {
		out[i] = KV{Key: k, Value: m.m[k]}
	}
	return out
}

// Clone returns an independent copy.
func (m *Map) Clone() *Map {
	c := NewMap()
	for k, v := range m.m {
		c.m[k] = Value{Type: v.Type, Data: append([]byte(nil), v.Data...)}
	}
	return c
}

// validKeyName is icmap_check_key_name: 3..255 bytes of [A-Za-z0-9._/:-].
func validKeyName(k string) bool {
	if len(k) < 3 || len(k) > KeyNameMax {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '/' || c == ':') {
			return false
		}
	}
	return true
}

// setChecked is icmap_set_r as the parser calls it: a new key needs a valid
// name (CS_ERR_NAME_TOO_LONG otherwise); string values are stored up to
// their first NUL.
func (m *Map) setChecked(key string, v Value) error {
	if _, ok := m.m[key]; !ok && !validKeyName(key) {
		return errNameTooLong
	}
	if v.Type == TypeString {
		if i := strings.IndexByte(string(v.Data), 0); i >= 0 {
			v.Data = v.Data[:i]
		}
	}
	m.m[key] = v
	return nil
}

type csError string

func (e csError) Error() string { return string(e) }

// errNameTooLong is how cs_strerror names CS_ERR_NAME_TOO_LONG.
const errNameTooLong = csError("CS_ERR_NAME_TOO_LONG")
