package ipc

import (
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

// Pacemaker's framing on top of libqb (shared/docs/ipc-wire.md §4.1): a 40-byte
// header (the 24-byte response header, size_uncompressed u32 @24,
// size_compressed u32 @28, flags u32 @32, version u8 @36), then NUL-terminated XML.
const (
	pcmkHeaderSize    = 40
	pcmkFlagWantReply = 0x200
)

func pcmkMessage(id int32, flags uint32, xml string) []byte {
	m := NewResponse(id, 0, pcmkHeaderSize-ResponseHeaderSize+len(xml)+1)
	binary.LittleEndian.PutUint32(m[24:], uint32(len(xml)+1))
	binary.LittleEndian.PutUint32(m[32:], flags)
	m[36] = 1
	copy(m[pcmkHeaderSize:], xml)
	return m
}

var xmlAttr = regexp.MustCompile(`(\w+)="([^"]*)"`)

// cibHandler answers what `cibadmin -Q` asks of the CIB manager: register
// (a response) and cib_query (the reply comes as an event).
type cibHandler struct {
	events  atomic.Int32
	queries atomic.Int32
}

const testCIB = `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="42" num_updates="7" admin_epoch="0"><configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>`

func (h *cibHandler) Accept(*Conn) error { return nil }
func (h *cibHandler) Closed(*Conn)       {}

func (h *cibHandler) Request(c *Conn, msg []byte) {
	hdr, _ := ParseRequestHeader(msg)
	if len(msg) < pcmkHeaderSize {
		c.Close()
		return
	}
	flags := binary.LittleEndian.Uint32(msg[32:])
	attrs := map[string]string{}
	for _, m := range xmlAttr.FindAllStringSubmatch(string(msg[pcmkHeaderSize:]), -1) {
		attrs[m[1]] = m[2]
	}
	const client = "0c5fb7a6-0000-4000-8000-72696e676d61"
	var reply string
	switch attrs["cib_op"] {
	case "register":
		reply = fmt.Sprintf(`<cib_common_callback_worker cib_op="register" cib_clientid="%s"/>`, client)
	case "cib_query":
		h.queries.Add(1)
		reply = fmt.Sprintf(`<cib-reply t="cib" cib_op="cib_query" cib_callid="%s" cib_clientid="%s" cib_callopt="%s" cib_rc="0"><cib_calldata>%s</cib_calldata></cib-reply>`,
			attrs["cib_callid"], client, attrs["cib_callopt"], testCIB)
	default:
		reply = fmt.Sprintf(`<cib-reply t="cib" cib_op="%s" cib_callid="%s" cib_rc="-95"/>`, attrs["cib_op"], attrs["cib_callid"])
	}
	if flags&pcmkFlagWantReply != 0 {
		c.Respond(pcmkMessage(hdr.ID, 0x20200, reply))
	} else {
		c.SendEvent(pcmkMessage(h.events.Add(1), 0x30000, reply))
	}
}

// TestRealCibadmin runs Pacemaker 2.1.5's unmodified cibadmin (libcib,
// libcrmcommon's IPC client over libqb) against our server on cib_rw, over
// SOCKET and SHM: register, then a query answered by an event.
func TestRealCibadmin(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespace test")
	}
	cibadmin := testenv.RequireBinary(t, "cibadmin")
	ns := netns(t)
	for _, tr := range []Transport{Socket, SHM} {
		t.Run(tr.String(), func(t *testing.T) {
			startHelper(t, ns, "cib", tr)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, cibadmin, "-Q").CombinedOutput()
			if err != nil || !strings.Contains(string(out), `epoch="42"`) || !strings.Contains(string(out), "<resources/>") {
				t.Fatalf("cibadmin -Q: %v\n%s", err, out)
			}
			t.Logf("cibadmin -Q over %v printed our CIB", tr)
		})
	}
}
