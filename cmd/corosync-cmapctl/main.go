// Command corosync-cmapctl shows and changes the cmap of a running corosync, as
// corosync 3.1.7's tool of that name does. The logic is in tools/cmapctl; its
// option syntax is getopt's, which the tool parses itself.
package main

import (
	"os"

	"ringmaster/cmap"
	"ringmaster/tools/cmapctl"
)

func main() {
	dial := func(m cmap.Map) (cmapctl.Conn, error) {
		c, err := cmap.Dial(cmap.ClientOptions{Map: m})
		if err != nil {
			return nil, err
		}
		return cmapctl.FromClient(c), nil
	}
	os.Exit(cmapctl.Run(os.Args[1:], dial, cmapctl.IO{Prog: os.Args[0], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
