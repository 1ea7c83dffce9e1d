package lrmd

import (
	"strings"
	"testing"
)

// A request as lrmd_client.c's lrmd_api_exec builds it, after the daemon's
// dispatch (which adds lrmd_clientid and renumbers lrmd_callid).
const execRequest = `<lrmd_command __name__="lrmd_command" t="lrmd" lrmd_async_id="8d2c" lrmd_op="lrmd_rsc_exec" lrmd_timeout="20000" lrmd_callopt="4" lrmd_clientid="c1" lrmd_clientname="crmd" lrmd_callid="17"><lrmd_calldata><lrmd_rsc lrmd_origin="lrmd_api_exec" lrmd_rsc_id="vip" lrmd_rsc_action="monitor" lrmd_rsc_userdata_str="3:0:0:abc" lrmd_rsc_interval="10000" lrmd_timeout="20000" lrmd_rsc_start_delay="0"><attributes CRM_meta_interval="10000" CRM_meta_timeout="20000" cidr_netmask="24" ip="192.0.2.50" crm_feature_set="3.16.1"><param name="odd name" value="v"/></attributes></lrmd_rsc></lrmd_calldata></lrmd_command>`

func TestDecodeExec(t *testing.T) {
	r, err := DecodeRequest([]byte(execRequest))
	if err != nil {
		t.Fatal(err)
	}
	if r.Op != OpRscExec || r.CallID != 17 || r.CallOpts != 4 || r.ClientName != "crmd" || r.Rsc == nil {
		t.Fatalf("%+v", r)
	}
	rs := r.Rsc
	if rs.ID != "vip" || rs.Action != "monitor" || rs.IntervalMS != 10000 || rs.TimeoutMS != 20000 || rs.UserData != "3:0:0:abc" {
		t.Fatalf("%+v", rs)
	}
	if rs.Params["ip"] != "192.0.2.50" || rs.Params["CRM_meta_timeout"] != "20000" || rs.Params["odd name"] != "v" || len(rs.Params) != 6 {
		t.Fatalf("params %v", rs.Params)
	}
}

func TestRoundTrip(t *testing.T) {
	x := Command(OpRscExec, 3, 0, "t", &RscData{ID: "d", Action: "start", TimeoutMS: 5, Params: map[string]string{"a": "<&>\""}})
	r, err := DecodeRequest(x)
	if err != nil || r.Rsc.Params["a"] != "<&>\"" || r.Rsc.TimeoutMS != 5 {
		t.Fatalf("%v %+v\n%s", err, r, x)
	}
	n := Notify{RscID: "d", Action: "start", CallID: 4, RC: 7, Status: ExecTimeout, ExitReason: "x", Output: "bad\x01bytes\xff",
		Params: map[string]string{"p": "1", "bad name": "2"}}
	ev, err := DecodeNotify(NotifyXML(n))
	if err != nil || ev.Op != OpRscExec || ev.Notify.RC != 7 || ev.Notify.Status != ExecTimeout || ev.Notify.Output != "bad?bytes?" {
		t.Fatalf("%v %+v", err, ev)
	}
	if got := string(Reply("process_lrmd_signon", 0, 1, "lrmd_op", "register", "lrmd_clientid", "u", "lrmd_protocol_version", "1.1")); got !=
		`<lrmd_reply lrmd_origin="process_lrmd_signon" lrmd_rc="0" lrmd_callid="1" lrmd_op="register" lrmd_clientid="u" lrmd_protocol_version="1.1"/>` {
		t.Fatal(got)
	}
}

func TestDecodeBad(t *testing.T) {
	for _, s := range []string{"", "<", "<cib/>", "not xml", `<lrmd_command lrmd_callid="x"/>`, strings.Repeat("<a>", 10000)} {
		r, err := DecodeRequest([]byte(s))
		if err == nil && (r.CallID != 0) {
			t.Errorf("%q: %+v", s, r)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(execRequest))
	f.Add(Command(OpRegister, 1, 0, "x", nil, "lrmd_protocol_version", "1.1"))
	f.Add(Command(OpRscCancel, 1, 0, "x", &RscData{ID: "a", Action: "monitor", IntervalMS: 1}))
	f.Add([]byte(`<lrmd_command lrmd_op="lrmd_get_recurring"><lrmd_calldata><lrmd_rsc lrmd_rsc_id="x"/></lrmd_calldata></lrmd_command>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		// Whatever decodes must be executable by the machine without panicking.
		m := NewMachine(nil)
		if r.Rsc != nil {
			m.Register(t0, Resource{ID: r.Rsc.ID, Class: r.Rsc.Class, Provider: r.Rsc.Provider, Type: r.Rsc.Type, CallOpts: r.CallOpts})
			m.Exec(t0, ExecRequest{CallID: r.CallID, CallOpts: r.CallOpts, RscID: r.Rsc.ID, Action: r.Rsc.Action,
				IntervalMS: r.Rsc.IntervalMS, TimeoutMS: r.Rsc.TimeoutMS, StartDelayMS: r.Rsc.StartDelayMS, Params: r.Rsc.Params})
			m.Cancel(t0, r.Rsc.ID, r.Rsc.Action, r.Rsc.IntervalMS)
			m.Tick(t0.Add(1e12))
			NotifyXML(Notify{RscID: r.Rsc.ID, Action: r.Rsc.Action, Params: r.Rsc.Params, Output: r.Rsc.UserData})
		}
	})
}

func FuzzExitReason(f *testing.F) {
	f.Add("ocf-exit-reason:x\n")
	f.Fuzz(func(t *testing.T, s string) {
		if r := ExitReason("ocf", s); len(r) > 128 || strings.Contains(r, "\n") {
			t.Fatalf("%q", r)
		}
	})
}
