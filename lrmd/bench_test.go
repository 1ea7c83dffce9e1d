package lrmd

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkMachine measures one exec → run → complete → notify cycle on a
// machine holding 100 resources with a recurring monitor each.
func BenchmarkMachine(b *testing.B) {
	m := NewMachine(nil)
	now := t0
	for i := 0; i < 100; i++ {
		id := "r" + strconv.Itoa(i)
		m.Register(now, Resource{ID: id, Class: "ocf", Provider: "heartbeat", Type: "Dummy"})
		m.Exec(now, ExecRequest{RscID: id, Action: "monitor", IntervalMS: 10000, TimeoutMS: 20000, CallID: i + 1})
	}
	for _, r := range m.Ready().Runs {
		m.Complete(now, r.Op, Outcome{Status: ExecDone})
	}
	m.Advance()
	p := map[string]string{"state": "/run/x", "CRM_meta_timeout": "20000"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Millisecond)
		m.Exec(now, ExecRequest{RscID: "r7", Action: "start", TimeoutMS: 20000, CallID: 1000 + i, Params: p})
		rd := m.Ready()
		m.Advance()
		for _, r := range rd.Runs {
			m.Complete(now, r.Op, Outcome{Status: ExecDone})
		}
		m.Advance()
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	x := []byte(execRequest)
	b.SetBytes(int64(len(x)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeRequest(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNotifyXML(b *testing.B) {
	n := Notify{RscID: "vip", Action: "monitor", CallID: 7, IntervalMS: 10000, TimeoutMS: 20000,
		Params: map[string]string{"ip": "192.0.2.50", "cidr_netmask": "24", "CRM_meta_timeout": "20000"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		NotifyXML(n)
	}
}
