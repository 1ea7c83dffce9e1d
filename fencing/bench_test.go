package fencing

import (
	"testing"

	"ringmaster/cib"
)

// BenchmarkHistoryRequest: crm_mon's st_fence_history round through the
// machine, parse and reply serialisation included.
func BenchmarkHistoryRequest(b *testing.B) {
	f := New("n1")
	f.Connect("c", 1, true)
	const req = `<stonith_command __name__="stonith_command" t="stonith-ng" st_async_id="c" st_op="st_fence_history" st_callid="2" st_callopt="4096" st_timeout="120"/>`
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e, _ := cib.ParseXMLString(req)
		eff := f.Request("c", 2, 0x200, e, 0, 0, "")
		_ = cib.Serialize(eff.Send[0].XML, false)
	}
}
