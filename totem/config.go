package totem

import (
	"errors"
	"fmt"
	"time"

	"ringmaster/totem/wire"
)

// Config holds the SRP timing and flow-control parameters of one node. Every
// field mirrors a totem.* key of corosync.conf(5); a zero value means "not
// configured" and is filled in by WithDefaults exactly as corosync 3.1.7
// (exec/totemconfig.c: totem_volatile_config_read) does it, including the
// values that are derived from the (coefficient-adjusted) token timeout.
type Config struct {
	// Framing is the SRP layout of the ring (wire.V3 when 0). It matters
	// to the machine only for recovery messages, which carry an old-ring
	// mcast as encoded bytes. Processors are identified and ordered by
	// nodeid, as in 3.x.
	Framing wire.Framing

	// NodeID is this node's id (nodelist.node.X.nodeid). Must not be 0: 0 is
	// the header nodeid of a leave message.
	NodeID NodeID

	// Token is the token loss timeout (totem.token, default 3000 ms). When
	// the nodelist holds more than two nodes, (nodes-2)*TokenCoefficient is
	// added to it, whether or not token was configured explicitly.
	Token time.Duration
	// TokenCoefficient (totem.token_coefficient, default 650 ms). Set
	// NoTokenCoefficient to switch the adjustment off (the "0" of the
	// config file).
	TokenCoefficient   time.Duration
	NoTokenCoefficient bool
	// TokenRetransmitsBeforeLossConst (default 4) is how many token
	// retransmits fit into one token timeout; it derives TokenRetransmit.
	TokenRetransmitsBeforeLossConst int
	// TokenRetransmit (default token/(const+0.2)) is how long a node waits
	// for any sign of the token it forwarded before sending it again.
	TokenRetransmit time.Duration
	// Hold (default retransmit*0.8 - 10 ms) is how long the representative
	// keeps the token of an idle ring before passing it on.
	Hold time.Duration
	// Join (default 50 ms) is the join message resend interval in GATHER.
	Join time.Duration
	// Consensus (default 1.2*token) is how long GATHER waits for every
	// processor to agree before declaring the silent ones failed.
	Consensus time.Duration
	// Merge (default 200 ms) is the merge-detect interval of an idle ring's
	// representative.
	Merge time.Duration
	// Downcheck (default 1000 ms) is the interface re-check interval; the
	// driver uses it, the machine only carries it.
	Downcheck time.Duration
	// FailRecvConst (default 2500) is the number of token rotations without
	// aru progress after which the node holding the ring back declares
	// itself failed to receive and forms a singleton ring.
	FailRecvConst int
	// SeqnoUnchangedConst (default 30) is the number of rotations without a
	// new message after which the token is held.
	SeqnoUnchangedConst int
	// SendJoin (default 0) is the upper bound of a random delay before a
	// join is sent; only a driver with a random source applies it.
	SendJoin time.Duration
	// MaxNetworkDelay (default 50 ms) is carried for the driver.
	MaxNetworkDelay time.Duration
	// WindowSize (default 50) is the ring-wide number of messages sent per
	// token rotation.
	WindowSize int
	// MaxMessages (default 17) is the number of new messages one node may
	// send per token visit.
	MaxMessages int
	// MissCountConst (default 5) is the number of token visits a gap must
	// persist before a retransmit is requested.
	MissCountConst int
	// TokenWarning (default 75, percent of token) only drives a log line.
	TokenWarning int
	// HoldUntilTransAck reproduces corosync's two send queues: after a
	// regular configuration, messages the application sends go to a second
	// queue, and messages queued before it are held, until the driver's
	// service sync completes and steps TransAck. Off, the machine has one
	// queue and needs no TransAck.
	HoldUntilTransAck bool
	// CancelTokenHoldOnRetransmit (default no) forwards a held token at
	// once when it carries retransmit requests.
	CancelTokenHoldOnRetransmit bool
}

// Upstream defaults (corosync.conf(5) and exec/totemconfig.c at v3.1.7).
const (
	DefaultToken                           = 3000 * time.Millisecond
	DefaultTokenCoefficient                = 650 * time.Millisecond
	DefaultTokenRetransmitsBeforeLossConst = 4
	DefaultJoin                            = 50 * time.Millisecond
	DefaultMerge                           = 200 * time.Millisecond
	DefaultDowncheck                       = 1000 * time.Millisecond
	DefaultFailRecvConst                   = 2500
	DefaultSeqnoUnchangedConst             = 30
	DefaultMaxNetworkDelay                 = 50 * time.Millisecond
	DefaultWindowSize                      = 50
	DefaultMaxMessages                     = 17
	DefaultMissCountConst                  = 5
	DefaultTokenWarning                    = 75

	// MinimumTimeout is 3*(1000/HZ) with HZ=100 (MINIMUM_TIMEOUT).
	MinimumTimeout = 30 * time.Millisecond
	// MinimumHold is MINIMUM_TIMEOUT*0.8 - 1000/HZ.
	MinimumHold = 14 * time.Millisecond

	// tick is 1000/HZ, subtracted from the derived hold timeout.
	tick = 10 * time.Millisecond
)

// DefaultConfig returns the configuration corosync 3.1.7 computes for a node
// with the given id in a nodelist of nodes entries and no timing keys set.
// For 3 nodes: token 3650, retransmit 869, hold 685, consensus 4380.
func DefaultConfig(id NodeID, nodes int) Config {
	return Config{NodeID: id}.WithDefaults(nodes)
}

// WithDefaults fills every unset field. nodes is the size of the nodelist;
// the token coefficient applies when it is above 2.
func (c Config) WithDefaults(nodes int) Config {
	if c.TokenRetransmitsBeforeLossConst == 0 {
		c.TokenRetransmitsBeforeLossConst = DefaultTokenRetransmitsBeforeLossConst
	}
	if c.Token == 0 {
		c.Token = DefaultToken
	}
	if c.TokenCoefficient == 0 && !c.NoTokenCoefficient {
		c.TokenCoefficient = DefaultTokenCoefficient
	}
	if nodes > 2 && !c.NoTokenCoefficient {
		c.Token += time.Duration(nodes-2) * c.TokenCoefficient
	}
	ms := func(d time.Duration) float64 { return float64(d / time.Millisecond) }
	if c.TokenRetransmit == 0 {
		c.TokenRetransmit = time.Duration(int(ms(c.Token)/(float64(c.TokenRetransmitsBeforeLossConst)+0.2))) * time.Millisecond
	}
	if c.Hold == 0 {
		c.Hold = time.Duration(int(ms(c.TokenRetransmit)*0.8-ms(tick))) * time.Millisecond
	}
	if c.Join == 0 {
		c.Join = DefaultJoin
	}
	if c.Consensus == 0 {
		c.Consensus = time.Duration(int(float32(1.2*ms(c.Token)))) * time.Millisecond
	}
	if c.Merge == 0 {
		c.Merge = DefaultMerge
	}
	if c.Downcheck == 0 {
		c.Downcheck = DefaultDowncheck
	}
	if c.FailRecvConst == 0 {
		c.FailRecvConst = DefaultFailRecvConst
	}
	if c.SeqnoUnchangedConst == 0 {
		c.SeqnoUnchangedConst = DefaultSeqnoUnchangedConst
	}
	if c.MaxNetworkDelay == 0 {
		c.MaxNetworkDelay = DefaultMaxNetworkDelay
	}
	if c.WindowSize == 0 {
		c.WindowSize = DefaultWindowSize
	}
	if c.MaxMessages == 0 {
		c.MaxMessages = DefaultMaxMessages
	}
	if c.MissCountConst == 0 {
		c.MissCountConst = DefaultMissCountConst
	}
	if c.TokenWarning == 0 {
		c.TokenWarning = DefaultTokenWarning
	}
	return c
}

// ErrInvalidConfig is wrapped by every Validate error.
var ErrInvalidConfig = errors.New("invalid totem configuration")

// Validate applies corosync's checks (totem_volatile_config_validate); the
// messages name the corosync.conf key.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	msec := func(d time.Duration) int64 { return int64(d / time.Millisecond) }
	if c.NodeID == 0 {
		return bad("nodeid 0 is reserved")
	}
	check := []struct {
		key string
		v   time.Duration
		min time.Duration
	}{
		{"totem.max_network_delay", c.MaxNetworkDelay, MinimumTimeout},
		{"totem.token", c.Token, MinimumTimeout},
		{"totem.token_retransmit", c.TokenRetransmit, MinimumTimeout},
		{"totem.hold", c.Hold, MinimumHold},
		{"totem.join", c.Join, MinimumTimeout},
		{"totem.consensus", c.Consensus, MinimumTimeout},
		{"totem.merge", c.Merge, MinimumTimeout},
		{"totem.downcheck", c.Downcheck, MinimumTimeout},
	}
	for _, k := range check {
		if k.v < k.min {
			return bad("%s (%d ms) may not be less than %d ms", k.key, msec(k.v), msec(k.min))
		}
	}
	if c.TokenWarning < 0 || c.TokenWarning > 100 {
		return bad("totem.token_warning (%d%%) must be between 0 (disabled) and 100", c.TokenWarning)
	}
	if c.Consensus < c.Join {
		return bad("totem.consensus (%d ms) may not be less than totem.join (%d ms)", msec(c.Consensus), msec(c.Join))
	}
	if c.WindowSize < 1 || c.MaxMessages < 1 {
		return bad("totem.window_size and totem.max_messages must be positive")
	}
	if c.WindowSize+c.MaxMessages > queueSize/2 {
		return bad("totem.window_size (%d) too large", c.WindowSize)
	}
	if c.FailRecvConst < 1 || c.SeqnoUnchangedConst < 1 || c.MissCountConst < 1 {
		return bad("fail_recv_const, seqno_unchanged_const and miss_count_const must be positive")
	}
	return nil
}
