package wire

import (
	"fmt"
	"strings"
)

// Format prints a message on one line, in the style of the reference
// decoder's output (testdata/totem/*.decoded.txt), for logs and traces.
// 2.x addresses print as nodeid/address.
func Format(m Message) string {
	var b strings.Builder
	h := m.Hdr()
	fmt.Fprintf(&b, "%s nodeid=%d", m.Type(), h.NodeID)
	if h.Encapsulated != 0 {
		fmt.Fprintf(&b, " encap=%d", h.Encapsulated)
	}
	list := func(l []Addr) string {
		p := make([]string, len(l))
		for i, a := range l {
			p[i] = a.String()
		}
		return "[" + strings.Join(p, " ") + "]"
	}
	switch m := m.(type) {
	case *OrfToken:
		fmt.Fprintf(&b, " seq=%d token_seq=%d aru=%#x aru_addr=%d ring=%s backlog=%d fcc=%d retrans_flg=%d rtr=%d",
			m.Seq, m.TokenSeq, m.Aru, m.AruAddr, m.RingID, m.Backlog, m.FCC, m.RetransFlg, len(m.RTR))
		for _, it := range m.RTR {
			fmt.Fprintf(&b, " [%s:%d]", it.RingID, it.Seq)
		}
	case *Mcast:
		fmt.Fprintf(&b, " from=%s seq=%d this_seqno=%d ring=%s guarantee=%d payload=%d",
			m.From, m.Seq, m.ThisSeqno, m.RingID, m.Guarantee, len(m.Payload))
	case *MergeDetect:
		fmt.Fprintf(&b, " from=%s ring=%s", m.From, m.RingID)
	case *Join:
		fmt.Fprintf(&b, " from=%s ring_seq=%d proc=%s failed=%s", m.From, m.RingSeq, list(m.Proc), list(m.Failed))
		if m.IsLeave() {
			b.WriteString(" (leave)")
		}
	case *CommitToken:
		fmt.Fprintf(&b, " token_seq=%d ring=%s memb_index=%d addrs=%s", m.TokenSeq, m.RingID, m.MembIndex, list(m.Addrs))
		for _, e := range m.Memb {
			fmt.Fprintf(&b, " {ring=%s aru=%#x high_delivered=%#x received_flg=%d}", e.RingID, e.Aru, e.HighDelivered, e.ReceivedFlg)
		}
	case *TokenHoldCancel:
		fmt.Fprintf(&b, " ring=%s", m.RingID)
	}
	return b.String()
}
