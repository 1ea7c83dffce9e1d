package totem

import (
	"errors"
	"fmt"

	"ringmaster/totem/wire"
)

// In RECOVERY a node retransmits old-ring messages wrapped in a new-ring
// mcast whose payload is the complete old mcast, header included, exactly
// as it travelled on the old ring (memb_state_recovery_enter). The wrapper
// and the wrapped message use the ring's framing.

var errInner = errors.New("totem: malformed encapsulated mcast")

// encapsulate encodes an old-ring mcast for a recovery message.
func (m *Machine) encapsulate(old *wire.Mcast) []byte {
	return wire.Encode(old, m.framing())
}

// decapsulate decodes the inner mcast of a recovery message; its payload
// aliases b.
func (m *Machine) decapsulate(b []byte) (*wire.Mcast, error) {
	msg, err := wire.Decode(b, m.framing())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInner, err)
	}
	mc, ok := msg.(*wire.Mcast)
	if !ok {
		return nil, fmt.Errorf("%w: inner %s", errInner, msg.Type())
	}
	return mc, nil
}

func (m *Machine) framing() wire.Framing {
	if m.cfg.Framing == 0 {
		return wire.V3
	}
	return m.cfg.Framing
}
