package cmap

import (
	"bytes"
	"encoding/binary"
	"sort"
	"strings"

	"ringmaster/conf"
)

// Limits of icmap (include/corosync/cmap.h, exec/icmap.c).
const (
	KeyNameMinLen = 3         // CMAP_KEYNAME_MINLEN
	KeyNameMaxLen = 255       // CMAP_KEYNAME_MAXLEN
	MaxValueLen   = 16 * 1024 // ICMAP_MAX_VALUE_LEN
)

// TrackFlags select which changes a track reports (CMAP_TRACK_*). The same numbers
// are the event codes of a notification.
type TrackFlags int32

const (
	TrackDelete TrackFlags = 1
	TrackModify TrackFlags = 2
	TrackAdd    TrackFlags = 4
	TrackPrefix TrackFlags = 8

	trackAll = TrackDelete | TrackModify | TrackAdd | TrackPrefix
)

// TrackID names one track inside one Store.
type TrackID uint64

// Event is one change seen by one track: New is the zero Value for a delete, Old
// the zero Value for an add, exactly as icmap fills struct icmap_notify_value.
type Event struct {
	Track TrackID
	Type  TrackFlags // TrackAdd, TrackModify or TrackDelete
	Key   string
	New   conf.Value
	Old   conf.Value
}

type track struct {
	id    TrackID
	key   string // "" with TrackPrefix means every key (a NULL key in icmap)
	flags TrackFlags
	owner any
}

// Store is one cmap map: typed keys kept in the byte order corosync-cmapctl lists
// them in (libqb's trie iterates children by byte value), per-key and per-prefix
// tracking, and the read-only rules corosync applies to IPC clients.
//
// A Store is a plain data structure: no goroutines, no locks, no I/O. Mutations queue
// the resulting track events; the owner drains them with TakeEvents and delivers them.
// The daemon serialises access (see Service).
type Store struct {
	items    map[string]conf.Value
	keys     []string // sorted
	tracks   []*track // in creation order; events are produced in this order
	nextID   TrackID
	pending  []Event
	readOnly func(key string) bool
	roExact  map[string]bool
	roPrefix []string
}

// NewStore returns an empty map without read-only rules.
func NewStore() *Store {
	return &Store{items: map[string]conf.Value{}, roExact: map[string]bool{}}
}

// NewICMap returns the default map with the read-only rules corosync 3.1.7 installs
// at start-up (exec/main.c:set_icmap_ro_keys_flag and
// exec/votequorum.c:votequorum_set_icmap_ro_keys). totemconfig.c adds
// nodelist.local_node_pos later, but "nodelist." already covers it.
func NewICMap() *Store {
	s := NewStore()
	for _, p := range []string{"internal_configuration.", "runtime.services.", "runtime.config.",
		"runtime.totem.", "uidgid.config.", "system.", "nodelist."} {
		s.SetReadOnly(p, true)
	}
	for _, k := range []string{"totem.crypto_cipher", "totem.crypto_hash", "totem.crypto_model",
		"totem.keyfile", "totem.key", "totem.secauth", "totem.ip_version", "totem.rrp_mode",
		"totem.transport", "totem.cluster_name", "totem.netmtu", "totem.threads", "totem.version",
		"totem.nodeid", "totem.clear_node_high_bit", "config.reload_in_progress",
		"config.totemconfig_reload_in_progress",
		"quorum.allow_downscale", "quorum.wait_for_all", "quorum.last_man_standing",
		"quorum.last_man_standing_window", "quorum.expected_votes_tracking",
		"quorum.auto_tie_breaker", "quorum.auto_tie_breaker_node"} {
		s.SetReadOnly(k, false)
	}
	return s
}

// StatsClearPrefix is the only writable part of the stats map (exec/stats.c: STATS_CLEAR).
const StatsClearPrefix = "stats.clear."

// NewStats returns the statistics map: everything is read-only for clients except
// keys under stats.clear. (exec/stats.c:stats_map_is_key_ro).
func NewStats() *Store {
	s := NewStore()
	s.readOnly = func(key string) bool { return !strings.HasPrefix(key, StatsClearPrefix) }
	return s
}

// SetReadOnly marks a key (or, with prefix, every key starting with it) read-only
// for IPC clients, as icmap_set_ro_access does. The daemon itself may still write.
func (s *Store) SetReadOnly(key string, prefix bool) {
	if prefix {
		for _, p := range s.roPrefix {
			if p == key {
				return
			}
		}
		s.roPrefix = append(s.roPrefix, key)
		return
	}
	s.roExact[key] = true
}

// IsReadOnly reports whether a client may not set, delete or adjust key
// (icmap_is_key_ro: plain string prefixes, no dot boundary).
func (s *Store) IsReadOnly(key string) bool {
	if s.readOnly != nil {
		return s.readOnly(key)
	}
	if s.roExact[key] {
		return true
	}
	for _, p := range s.roPrefix {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// ValidKeyName reports whether icmap accepts name for a new key: 3..255 characters
// from [a-zA-Z0-9._/:-] (exec/icmap.c:icmap_check_key_name).
func ValidKeyName(name string) bool {
	if len(name) < KeyNameMinLen || len(name) > KeyNameMaxLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !validNameChar(name[i]) {
			return false
		}
	}
	return true
}

func validNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '/' || c == ':'
}

// ConvertToValidName replaces every character icmap does not allow in a key with '_'
// (icmap_convert_name_to_valid_name; used for names built from user data).
func ConvertToValidName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !validNameChar(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// checkValue applies icmap_check_value_len: at most 16 KiB, numbers of exactly their
// size. Strings are normalised (cut at the first NUL, stored without it). A type
// outside the twelve is refused (corosync would store it with length 0).
func checkValue(v conf.Value) (conf.Value, Error) {
	if len(v.Data) > MaxValueLen || !v.Type.Valid() {
		return v, ErrInvalidParam
	}
	switch v.Type {
	case conf.TypeString:
		if i := bytes.IndexByte(v.Data, 0); i >= 0 {
			// icmap refuses a value_len that reaches beyond the NUL + 1.
			if len(v.Data) > i+1 {
				return v, ErrInvalidParam
			}
			v.Data = v.Data[:i]
		}
	case conf.TypeBinary:
	default:
		if len(v.Data) != v.Type.FixedSize() {
			return v, ErrInvalidParam
		}
	}
	return conf.Value{Type: v.Type, Data: append([]byte(nil), v.Data...)}, OK
}

// Len is the number of keys.
func (s *Store) Len() int { return len(s.keys) }

// Get returns a copy of the value of key.
func (s *Store) Get(key string) (conf.Value, error) {
	v, ok := s.items[key]
	if !ok {
		return conf.Value{}, ErrNotExist
	}
	return conf.Value{Type: v.Type, Data: append([]byte(nil), v.Data...)}, nil
}

// Set stores v under key. Setting an equal value is a no-op without events (icmap
// compares first); a new key must have a valid name (CS_ERR_NAME_TOO_LONG otherwise);
// an existing key may change type.
func (s *Store) Set(key string, v conf.Value) error {
	v, e := checkValue(v)
	if e != OK {
		return e
	}
	old, exists := s.items[key]
	if exists {
		if old.Equal(v) {
			return nil
		}
	} else if !ValidKeyName(key) {
		return ErrNameTooLong
	}
	s.items[key] = v
	if exists {
		s.notify(TrackModify, key, v, old)
	} else {
		i := sort.SearchStrings(s.keys, key)
		s.keys = append(s.keys, "")
		copy(s.keys[i+1:], s.keys[i:])
		s.keys[i] = key
		s.notify(TrackAdd, key, v, conf.Value{})
	}
	return nil
}

// Delete removes key.
func (s *Store) Delete(key string) error {
	old, ok := s.items[key]
	if !ok {
		return ErrNotExist
	}
	delete(s.items, key)
	i := sort.SearchStrings(s.keys, key)
	s.keys = append(s.keys[:i], s.keys[i+1:]...)
	s.notify(TrackDelete, key, conf.Value{}, old)
	return nil
}

// DeletePrefix removes every key starting with prefix and returns how many.
func (s *Store) DeletePrefix(prefix string) int {
	var n int
	for _, k := range s.Keys(prefix) {
		if s.Delete(k) == nil {
			n++
		}
	}
	return n
}

// AdjustInt adds step to an integer key with wrap-around in the key's own width
// (icmap_adjust_int); other types give CS_ERR_INVALID_PARAM.
func (s *Store) AdjustInt(key string, step int32) error {
	v, ok := s.items[key]
	if !ok {
		return ErrNotExist
	}
	d := append([]byte(nil), v.Data...)
	switch v.Type {
	case conf.TypeI8, conf.TypeU8:
		d[0] += byte(step)
	case conf.TypeI16, conf.TypeU16:
		binary.LittleEndian.PutUint16(d, binary.LittleEndian.Uint16(d)+uint16(step))
	case conf.TypeI32, conf.TypeU32:
		binary.LittleEndian.PutUint32(d, binary.LittleEndian.Uint32(d)+uint32(step))
	case conf.TypeI64, conf.TypeU64:
		binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(d)+uint64(int64(step)))
	default:
		return ErrInvalidParam
	}
	return s.Set(key, conf.Value{Type: v.Type, Data: d})
}

// Keys returns the keys starting with prefix, in iteration order.
func (s *Store) Keys(prefix string) []string {
	i := sort.SearchStrings(s.keys, prefix)
	var out []string
	for ; i < len(s.keys) && strings.HasPrefix(s.keys[i], prefix); i++ {
		out = append(out, s.keys[i])
	}
	return out
}

// Iter is a prefix iteration that stays valid while the map changes: it remembers
// the last key it returned and continues with the next larger one, so keys deleted
// meanwhile are skipped and keys added behind the cursor are seen (as with libqb's
// trie iterator, which delete_with_prefix in corosync-cmapctl relies on).
type Iter struct {
	s       *Store
	prefix  string
	last    string
	started bool
	done    bool
}

// Iter starts an iteration over the keys with prefix ("" for all).
func (s *Store) Iter(prefix string) *Iter { return &Iter{s: s, prefix: prefix} }

// Next returns the next key and its value, or ok=false at the end.
func (it *Iter) Next() (key string, v conf.Value, ok bool) {
	if it.done {
		return "", conf.Value{}, false
	}
	keys := it.s.keys
	var i int
	if it.started {
		i = sort.SearchStrings(keys, it.last)
		if i < len(keys) && keys[i] == it.last {
			i++
		}
	} else {
		i = sort.SearchStrings(keys, it.prefix)
	}
	if i >= len(keys) || !strings.HasPrefix(keys[i], it.prefix) {
		it.done = true
		return "", conf.Value{}, false
	}
	it.started, it.last = true, keys[i]
	return keys[i], it.s.items[keys[i]], true
}

// Track registers interest in changes of key (or, with TrackPrefix in flags, of
// every key starting with key; an empty key with TrackPrefix means all keys). owner
// is returned by Owner for the service's bookkeeping. Flags outside the four
// CMAP_TRACK_* bits give CS_ERR_INVALID_PARAM, as in icmap_track_add.
func (s *Store) Track(key string, flags TrackFlags, owner any) (TrackID, error) {
	if flags&^trackAll != 0 {
		return 0, ErrInvalidParam
	}
	s.nextID++
	s.tracks = append(s.tracks, &track{id: s.nextID, key: key, flags: flags, owner: owner})
	return s.nextID, nil
}

// Untrack removes a track; CS_ERR_NOT_EXIST if it is unknown.
func (s *Store) Untrack(id TrackID) error {
	for i, t := range s.tracks {
		if t.id == id {
			s.tracks = append(s.tracks[:i], s.tracks[i+1:]...)
			return nil
		}
	}
	return ErrNotExist
}

// Owner returns the owner given to Track.
func (s *Store) Owner(id TrackID) (any, bool) {
	for _, t := range s.tracks {
		if t.id == id {
			return t.owner, true
		}
	}
	return nil, false
}

// TrackCount is the number of registered tracks.
func (s *Store) TrackCount() int { return len(s.tracks) }

// notify queues an event for every track that matches, following libqb's trie
// notification rules: an exact track sees only its key; a prefix track sees every
// key that starts with its string (no dot boundary), including the key itself.
func (s *Store) notify(ev TrackFlags, key string, newV, oldV conf.Value) {
	for _, t := range s.tracks {
		if t.flags&ev == 0 {
			continue
		}
		match := false
		if t.flags&TrackPrefix != 0 {
			match = strings.HasPrefix(key, t.key)
		} else {
			match = t.key == key
		}
		if match {
			s.pending = append(s.pending, Event{Track: t.id, Type: ev, Key: key, New: newV, Old: oldV})
		}
	}
}

// TakeEvents returns and forgets the queued track events, oldest first.
func (s *Store) TakeEvents() []Event {
	ev := s.pending
	s.pending = nil
	return ev
}
