package totem

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigMatchesCorosync(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		nodes                              int
		token, retransmit, hold, consensus time.Duration
	}{
		// 3 nodes: the runtime values corosync 3.1.7 reported for the captures
		// (shared/testdata/totem/README.md).
		{3, 3650 * ms, 869 * ms, 685 * ms, 4380 * ms},
		{2, 3000 * ms, 714 * ms, 561 * ms, 3600 * ms},
		{1, 3000 * ms, 714 * ms, 561 * ms, 3600 * ms},
		{5, 4950 * ms, 1178 * ms, 932 * ms, 5940 * ms},
		{16, 12100 * ms, 2880 * ms, 2294 * ms, 14520 * ms},
	} {
		c := DefaultConfig(1, tc.nodes)
		if c.Token != tc.token || c.TokenRetransmit != tc.retransmit || c.Hold != tc.hold || c.Consensus != tc.consensus {
			t.Errorf("%d nodes: token %v retransmit %v hold %v consensus %v; want %v %v %v %v", tc.nodes,
				c.Token, c.TokenRetransmit, c.Hold, c.Consensus, tc.token, tc.retransmit, tc.hold, tc.consensus)
		}
		if c.Join != 50*ms || c.Merge != 200*ms || c.Downcheck != time.Second || c.FailRecvConst != 2500 ||
			c.SeqnoUnchangedConst != 30 || c.WindowSize != 50 || c.MaxMessages != 17 || c.MissCountConst != 5 {
			t.Errorf("%d nodes: constant defaults wrong: %+v", tc.nodes, c)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%d nodes: %v", tc.nodes, err)
		}
	}
}

func TestConfigExplicitValues(t *testing.T) {
	// An explicit token still gets the coefficient; derived values follow it.
	c := Config{NodeID: 1, Token: 1000 * time.Millisecond}.WithDefaults(4)
	if c.Token != 2300*time.Millisecond || c.Consensus != 2760*time.Millisecond {
		t.Errorf("token %v consensus %v", c.Token, c.Consensus)
	}
	c = Config{NodeID: 1, Token: 1000 * time.Millisecond, NoTokenCoefficient: true}.WithDefaults(4)
	if c.Token != time.Second {
		t.Errorf("token %v", c.Token)
	}
	c = Config{NodeID: 1, Consensus: 9 * time.Second}.WithDefaults(2)
	if c.Consensus != 9*time.Second {
		t.Errorf("consensus %v", c.Consensus)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.NodeID = 0 }, "nodeid 0"},
		{func(c *Config) { c.Token = 20 * time.Millisecond }, "totem.token (20 ms)"},
		{func(c *Config) { c.Join = 10 * time.Millisecond }, "totem.join"},
		{func(c *Config) { c.Consensus = 40 * time.Millisecond; c.Join = 50 * time.Millisecond }, "may not be less than totem.join"},
		{func(c *Config) { c.Hold = 5 * time.Millisecond }, "totem.hold"},
		{func(c *Config) { c.TokenWarning = 101 }, "token_warning"},
		{func(c *Config) { c.WindowSize = 9000 }, "window_size"},
	} {
		c := DefaultConfig(1, 3)
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want error with %q, got %v", tc.want, err)
		}
	}
}
