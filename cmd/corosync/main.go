// Command corosync is Ringmaster's corosync: same options, configuration, logs and
// IPC services as corosync 3.1.7 (exec/main.c). This file parses the command line
// and wires; the daemon lives in daemon.go and the service engines in engines.go.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// usage is corosync's usage text (exec/main.c), printed on stderr with exit 1.
const usage = `usage:
        -c     : Corosync config file path.
        -f     : Start application in foreground.
        -t     : Test configuration and exit.
        -v     : Display version, git revision and some useful information about Corosync and exit.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("corosync", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	opts := Options{ConfigPath: defaultConfigPath}
	fs.StringVarP(&opts.ConfigPath, "config", "c", opts.ConfigPath, "Corosync config file path")
	fs.BoolVarP(&opts.Foreground, "foreground", "f", false, "Start application in foreground")
	fs.BoolVarP(&opts.TestOnly, "test", "t", false, "Test configuration and exit")
	version := fs.BoolP("version", "v", false, "Display version and exit")
	// -p and -r (no realtime priority / realtime priority) were options of
	// corosync 2.x; scripts still pass them, so they are accepted and ignored.
	fs.BoolP("no-realtime", "p", false, "ignored (corosync 2.x option)")
	fs.BoolP("realtime", "r", false, "ignored (corosync 2.x option)")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "corosync: %s\n%s", getoptMessage(err), usage)
		return 1
	}
	if *version {
		fmt.Fprint(stdout, versionText)
		return 0
	}
	if len(opts.ConfigPath) >= 4096 {
		fmt.Fprintln(stderr, "Config file path too long.")
		return 1
	}
	opts.Stderr = stderr
	opts.Scheduling = true
	return Run(opts)
}

// getoptMessage turns pflag's complaint into glibc getopt's wording.
func getoptMessage(err error) string {
	if errors.Is(err, pflag.ErrHelp) {
		// corosync has no -h: getopt reports it as unknown.
		return "invalid option -- 'h'"
	}
	msg := err.Error()
	if i := strings.Index(msg, "shorthand flag: '"); i >= 0 && len(msg) > i+18 {
		return fmt.Sprintf("invalid option -- '%c'", msg[i+17])
	}
	if strings.Contains(msg, "needs an argument") {
		if i := strings.Index(msg, "'"); i >= 0 && len(msg) > i+1 {
			return fmt.Sprintf("option requires an argument -- '%c'", msg[i+1])
		}
	}
	if strings.HasPrefix(msg, "unknown flag: ") {
		return "unrecognized option '" + strings.TrimPrefix(msg, "unknown flag: ") + "'"
	}
	return msg
}
