# Ringmaster: corosync + Pacemaker, again, in Go.
PREFIX   ?= /usr/local/ringmaster
GO       ?= go
GOFLAGS  ?=
BIN      := bin
CMDS     := $(notdir $(wildcard cmd/*))
TESTFLAGS ?= -timeout 25m

.PHONY: all build test test-short vet bench bench-scheduler soak demo demo-down install fuzz clean deps

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS) -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet ./...

# Every test: unit, conformance, golden bytes, simulations and the network-namespace
# interop tests against Debian's corosync/Pacemaker (those need root; under CI=true a
# missing prerequisite fails instead of skipping).
test: deps build vet
	$(GO) test $(TESTFLAGS) ./...

# Unit tests only: no namespaces, no real peers.
test-short:
	$(GO) test -short ./...

# Installs the Debian packages the tests and the demo use (needs root only when
# something is missing).
deps:
	./.ci/deps

bench: build
	./bench/run.sh

bench-scheduler: build
	./bench/scheduler.sh

soak:
	$(GO) test ./totem/... -run TestSimSoak -soak -timeout 0 -v

demo: deps build
	$(GO) run ./demo

demo-down:
	@echo "the demo tears itself down"

# Runs every fuzz target for FUZZTIME each (go test -fuzz takes one target at a time).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

install: build
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(addprefix $(BIN)/,$(CMDS)) $(DESTDIR)$(PREFIX)/sbin/

clean:
	rm -rf $(BIN)
