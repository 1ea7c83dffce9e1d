package cmap

import (
	"encoding/binary"
	"fmt"

	"ringmaster/conf"
)

// The cmap service's one message between nodes (exec/cmap.c, totem group "a",
// service 0, function 0): MCAST carries key/value items. corosync 3.x sends it
// during every sync and when totem.config_version changes, so that each node can
// see the others' configuration versions (runtime.members.<id>.config_version)
// and a node whose version disagrees with the cluster's leaves.
//
// Layout (little-endian, fields 8-aligned): libqb request header (16 bytes, id 0,
// size), reason u8 @16, no_items u8 @24, two reserved u8 @32 and @40 (48 bytes),
// then no_items items {key mar_name_t @0 (264), value_type u8 @264, value_len u64
// @272, value @280}, each padded to a multiple of 8.

// Reasons of an exec MCAST (enum cmap_mcast_reason).
const (
	McastReasonSync             = 0
	McastReasonNewConfigVersion = 1
)

const (
	execHeaderSize = 48
	execItemFixed  = 280
	// valueTypeNotExist marks an item whose key does not exist on the sender.
	valueTypeNotExist = 0
	// MaxMcastItems is MAX_REQ_EXEC_CMAP_MCAST_ITEMS.
	MaxMcastItems = 32
)

// McastItem is one key of an exec MCAST. A zero Value.Type means the key does not
// exist on the sender.
type McastItem struct {
	Key   string
	Value conf.Value // strings carry no NUL here; WireValue adds it
}

// Mcast is a decoded exec MCAST.
type Mcast struct {
	Reason uint8
	Items  []McastItem
}

func align8(n int) int { return (n + 7) &^ 7 }

// MarshalMcast encodes m as cmap_mcast_send does.
func MarshalMcast(m Mcast) []byte {
	size := execHeaderSize
	for _, it := range m.Items {
		size += align8(execItemFixed + len(WireValue(it.Value)))
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b[8:], uint32(size))
	b[16] = m.Reason
	b[24] = uint8(len(m.Items))
	off := execHeaderSize
	for _, it := range m.Items {
		w := WireValue(it.Value)
		if it.Value.Type == valueTypeNotExist {
			w = nil
		}
		putName(b[off:], NameOf(it.Key))
		b[off+264] = byte(it.Value.Type)
		binary.LittleEndian.PutUint64(b[off+272:], uint64(len(w)))
		copy(b[off+execItemFixed:], w)
		off += align8(execItemFixed + len(w))
	}
	return b
}

// UnmarshalMcast decodes an exec MCAST (service header included), checking every
// item against the message size.
func UnmarshalMcast(b []byte) (Mcast, error) {
	if len(b) < execHeaderSize {
		return Mcast{}, fmt.Errorf("cmap mcast of %d bytes is shorter than its header", len(b))
	}
	size := binary.LittleEndian.Uint32(b[8:])
	if uint64(size) > uint64(len(b)) || size < execHeaderSize {
		return Mcast{}, fmt.Errorf("cmap mcast size field %d, message %d bytes", size, len(b))
	}
	b = b[:size]
	m := Mcast{Reason: b[16]}
	n := int(b[24])
	off := execHeaderSize
	for i := 0; i < n; i++ {
		if off+execItemFixed > len(b) {
			return m, fmt.Errorf("cmap mcast item %d of %d beyond the %d-byte message", i, n, len(b))
		}
		vl := binary.LittleEndian.Uint64(b[off+272:])
		if vl > uint64(len(b)-off-execItemFixed) {
			return m, fmt.Errorf("cmap mcast item %d value_len %d beyond the message", i, vl)
		}
		t := conf.ValueType(b[off+264])
		v := conf.Value{Type: t}
		if t != valueTypeNotExist {
			v = FromWire(t, b[off+execItemFixed:off+execItemFixed+int(vl)])
		}
		m.Items = append(m.Items, McastItem{Key: getName(b[off:]).Value, Value: v})
		off += align8(execItemFixed + int(vl))
	}
	return m, nil
}

// ConfigVersionKey is the key whose value cmap compares between nodes.
const ConfigVersionKey = "totem.config_version"

// Sync is cmap's part of corosync's service synchronisation (exec/cmap.c
// cmap_sync_*): a pure state machine the sync driver calls with the membership
// and the MCASTs it receives. Outputs are messages to multicast and, at most
// once, a request to shut the node down.
type Sync struct {
	LocalNodeID uint32

	first         bool
	transEntries  int
	myVersion     uint64
	highestRemote uint64
}

// NewSync returns the machine for the node with the given id.
func NewSync(localNodeID uint32) *Sync { return &Sync{LocalNodeID: localNodeID, first: true} }

// myConfigVersion reads totem.config_version (0 when absent or not u64).
func myConfigVersion(ic *Store) uint64 {
	v, err := ic.Get(ConfigVersionKey)
	if err != nil || v.Type != conf.TypeU64 {
		return 0
	}
	u, _ := v.AsUint()
	return u
}

// Init is cmap_sync_init: a new configuration with transEntries nodes in the
// transitional membership.
func (s *Sync) Init(ic *Store, transEntries int) {
	s.transEntries = transEntries
	s.myVersion = myConfigVersion(ic)
	s.highestRemote = s.myVersion
}

// Process is cmap_sync_process: the MCAST to send (reason SYNC, the config
// version item).
func (s *Sync) Process(ic *Store) []byte {
	return MarshalMcast(Mcast{Reason: McastReasonSync, Items: []McastItem{s.item(ic)}})
}

// ConfigVersionChanged is the message to send when totem.config_version changes
// (cmap_config_version_track_cb).
func (s *Sync) ConfigVersionChanged(ic *Store) []byte {
	s.myVersion = myConfigVersion(ic)
	return MarshalMcast(Mcast{Reason: McastReasonNewConfigVersion, Items: []McastItem{s.item(ic)}})
}

func (s *Sync) item(ic *Store) McastItem {
	v, err := ic.Get(ConfigVersionKey)
	if err != nil {
		return McastItem{Key: ConfigVersionKey}
	}
	return McastItem{Key: ConfigVersionKey, Value: v}
}

// Deliver handles an MCAST from node `from` (message_handler_req_exec_cmap_mcast):
// it records runtime.members.<from>.config_version and remembers the highest
// remote version. Undecodable messages are ignored (and reported).
func (s *Sync) Deliver(ic *Store, from uint32, msg []byte) error {
	m, err := UnmarshalMcast(msg)
	if err != nil {
		return err
	}
	if m.Reason != McastReasonSync && m.Reason != McastReasonNewConfigVersion {
		return nil
	}
	var version uint64
	for _, it := range m.Items {
		if it.Key == ConfigVersionKey && it.Value.Type == conf.TypeU64 {
			version, _ = it.Value.AsUint()
		}
	}
	if from != s.LocalNodeID && version > s.highestRemote {
		s.highestRemote = version
	}
	return ic.Set(fmt.Sprintf("runtime.members.%d.config_version", from), conf.U64(version))
}

// Activate is cmap_sync_activate. It returns the message to log at the level
// given and whether corosync must shut down: on the first sync with other nodes,
// a node whose non-zero configuration version differs from the highest one
// received leaves the cluster.
func (s *Sync) Activate() (logMsg string, errorLevel, shutdown bool) {
	if s.transEntries == 0 {
		return "Single node sync -> no action", false, false
	}
	if !s.first {
		return "Not first sync -> no action", false, false
	}
	s.first = false
	if s.myVersion == 0 {
		return "My config version is 0 -> no action", false, false
	}
	if s.highestRemote != s.myVersion {
		return fmt.Sprintf("Received config version (%d) is different than my config version (%d)! Exiting",
			s.highestRemote, s.myVersion), true, true
	}
	return "", false, false
}
