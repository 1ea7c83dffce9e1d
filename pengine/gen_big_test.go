package pengine

import (
	"fmt"
	"os"
	"testing"
)

// TestWriteBigCIB writes the benchmark CIB for bench/scheduler.sh when
// PENGINE_BIGCIB names a file (nodes x resources from PENGINE_BIGCIB_SIZE).
func TestWriteBigCIB(t *testing.T) {
	path := os.Getenv("PENGINE_BIGCIB")
	if path == "" {
		t.Skip("PENGINE_BIGCIB not set")
	}
	nodes, rscs := 16, 1000
	if s := os.Getenv("PENGINE_BIGCIB_SIZE"); s != "" {
		var n, r int
		if _, err := fmt.Sscanf(s, "%dx%d", &n, &r); err == nil {
			nodes, rscs = n, r
		}
	}
	if err := os.WriteFile(path, []byte(BigCIB(nodes, rscs)), 0o644); err != nil {
		t.Fatal(err)
	}
}
