package cmap

import (
	"fmt"
	"time"

	"ringmaster/ipc"
)

// Call sends req over c to one of corosync's services and checks the answer
// the way corosync's client libraries (cfg, cpg, quorum, votequorum) do: a
// transport failure is wrapped with the service's name; a non-OK cs_error_t
// in the response header comes back as an Error together with the response
// (some calls still decode fields then); an answer with another id or
// shorter than minSize is CS_ERR_MESSAGE_ERROR.
func Call(c *ipc.Client, service string, req []byte, timeout time.Duration, wantID int32, minSize int) ([]byte, error) {
	b, err := c.Request(req, timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", service, err)
	}
	h, err := ipc.ParseResponseHeader(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", service, err)
	}
	if h.Error != int32(OK) {
		return b, Error(h.Error)
	}
	if h.ID != wantID || len(b) < minSize {
		return nil, ErrMessageError
	}
	return b, nil
}
