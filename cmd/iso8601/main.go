// Command iso8601 displays and parses ISO 8601 dates and times, as
// Pacemaker's iso8601 does.
package main

import (
	"os"
	"time"

	"ringmaster/tools/iso8601"
)

func main() {
	os.Exit(iso8601.Main(os.Args[1:], os.Getenv, time.Now(), os.Stdout, os.Stderr))
}
