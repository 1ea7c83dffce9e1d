package pacemakerd

import (
	"testing"

	"ringmaster/cib"
)

// BenchmarkPing: one launcher ping, parse to serialised ack and reply.
func BenchmarkPing(b *testing.B) {
	const req = `<create_request_adv origin="do_pacemakerd_api_call" t="crmd" version="3.16.1" subt="request" reference="ping-crm_mon-1795347154-0" crm_task="ping" crm_sys_to="pacemakerd" crm_sys_from="15212_crm_mon"/>`
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e, _ := cib.ParseXMLString(req)
		a := Handle(e, 0x200, StateRunning, 1, true)
		_, _ = cib.Serialize(a.Ack, false), cib.Serialize(a.Reply, false)
	}
}
