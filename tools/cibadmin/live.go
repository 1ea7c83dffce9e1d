package cibadmin

import (
	"fmt"
	"strconv"
	"time"

	"ringmaster/cib"
	"ringmaster/internal/pcmkipc"
	"ringmaster/ipc"
)

// LiveConn talks to a running CIB manager over cib_rw, the way
// lib/cib/cib_native.c does: register, then one request per call. Calls
// are made synchronously (cib_sync_call), so the reply is the response to
// the request.
type LiveConn struct {
	cl       *ipc.Client
	clientID string
	name     string
	reqID    int32
	callID   int
	timeout  time.Duration
}

// DialLive connects to service ("cib_rw" normally) and registers as name.
func DialLive(service, name string, timeout time.Duration) (*LiveConn, cib.Rc) {
	cl, err := ipc.Dial(service, ipc.ClientOptions{MaxMsgSize: 128 << 10, Timeout: timeout})
	if err != nil {
		return nil, cib.ENOTCONN
	}
	c := &LiveConn{cl: cl, name: name, timeout: timeout, callID: 1}
	reg := fmt.Sprintf(`<cib_command t="cib" cib_op="register" cib_clientname="%s" cib_callopt="%d"/>`, cib.Escape(name), cib.OptSyncCall)
	reply, err := c.roundTrip([]byte(reg))
	if err != nil {
		cl.Close()
		return nil, cib.ENOTCONN
	}
	c.clientID = cib.AttrOr(reply, "cib_clientid", "")
	if c.clientID == "" {
		cl.Close()
		return nil, cib.EPROTONOSUPPORT
	}
	return c, cib.OK
}

func (c *LiveConn) roundTrip(xml []byte) (*etreeElement, error) {
	c.reqID++
	msg, err := pcmkipc.Encode(c.reqID, pcmkipc.FlagClientResponse, xml, c.cl.MaxMsgSize())
	if err != nil {
		return nil, err
	}
	resp, err := c.cl.Request(msg, c.timeout)
	if err != nil {
		return nil, err
	}
	_, body, err := pcmkipc.Decode(resp)
	if err != nil {
		return nil, err
	}
	return cib.ParseXML(body)
}

// Perform sends one operation and waits for its reply.
func (c *LiveConn) Perform(req cib.Request) cib.Result {
	c.callID++
	cmd := etreeNew("cib_command")
	cib.SetAttr(cmd, "t", "cib")
	cib.SetAttr(cmd, "cib_async_id", c.clientID)
	cib.SetAttr(cmd, "cib_op", req.Op)
	if req.Section != "" {
		cib.SetAttr(cmd, "cib_section", req.Section)
	}
	cib.SetAttr(cmd, "cib_callid", strconv.Itoa(c.callID))
	cib.SetAttr(cmd, "cib_callopt", strconv.FormatUint(uint64(req.Options|cib.OptSyncCall), 10))
	if req.User != "" {
		cib.SetAttr(cmd, "cib_user", req.User)
	}
	if req.Data != nil {
		cmd.CreateElement("cib_calldata").AddChild(req.Data.Copy())
	}
	reply, err := c.roundTrip([]byte(cib.Serialize(cmd, false)))
	if err != nil {
		return cib.Result{Rc: cib.ETIME}
	}
	res := cib.Result{Rc: cib.Rc(cib.AttrInt(reply, "cib_rc", int(cib.EPROTONOSUPPORT)))}
	if cd := cib.FirstChild(reply, "cib_calldata"); cd != nil {
		if kids := cd.ChildElements(); len(kids) > 0 {
			res.Output = kids[0]
		}
	}
	return res
}

// Close disconnects.
func (c *LiveConn) Close() error { return c.cl.Close() }
