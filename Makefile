# teleconsole: `make demo` runs the console with its built-in demo, `make test`
# runs every check CI runs. Both install what is missing first.

GO            ?= go
STATICCHECK_V := v0.8.2
GOBIN         := $(shell $(GO) env GOPATH)/bin
STATICCHECK   := $(GOBIN)/staticcheck
# System packages. To build and run: libvpx for the VP8 codec (cgo),
# WebRTC's audio processing module for the microphone's echo cancellation,
# noise suppression and gain control (cgo, C++: g++), speexdsp, the
# alternative it is measured against (--audio-processing speex), and
# pkg-config to find them. To test, also: tmux for the end-to-end test of the
# real binary, chromium for the interop test against a real libwebrtc peer
# (the patients' apps run libwebrtc), iproute2 to bring up loopback in the
# interop test's network namespace and to build the fault tests' pair of
# namespaces (make faults); and a terminal that shows real pixels: xterm
# (with its 10x20 font from xfonts-base) under Xvfb, xdotool to type into it,
# ImageMagick to take screenshots and to decode sixel images; and a sound
# server the sound tests start for themselves (PulseAudio with its
# pactl/pacat/parec) with null sinks as the doctor's microphone and speaker.
BUILD_PKGS    := libvpx-dev libwebrtc-audio-processing-dev libspeexdsp-dev pkg-config gcc g++
TEST_PKGS     := tmux chromium iproute2 xvfb xkb-data x11-xkb-utils xterm xfonts-base xdotool imagemagick pulseaudio pulseaudio-utils
# The interop test and the side-by-side benchmark run in a network namespace
# of their own that has only loopback (as root, or in a user namespace), so
# nothing the browsers do can leave the machine.
NETNS         := unshare $(if $(filter 0,$(shell id -u)),,--map-root-user) --net sh -c

export CGO_ENABLED := 1

.PHONY: all deps test-deps build demo test lint unit e2e interop faults bench lipsync mutants hub-starts clean

all: build

deps:
	@sh scripts/deps.sh $(BUILD_PKGS)

# What the tests need beyond the build: make demo does not install a browser.
test-deps: deps
	@sh scripts/deps.sh $(TEST_PKGS)
	@# Node.js with npm runs playwright-core; Debian's own packages when the
	@# machine has no npm (NodeSource's nodejs brings its npm with it).
	@command -v npm >/dev/null 2>&1 || sh scripts/deps.sh nodejs npm
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_V)

build: deps
	$(GO) build -o teleconsole .

demo: build
	./teleconsole demo

test: test-deps lint unit e2e interop faults

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

unit:
	$(GO) test -race -timeout 10m -skip 'TestEndToEnd|TestInterop|TestFault' ./...

# Each guarded fix taken out in turn, on a copy of the tree, and the tests
# that should catch it run: any that stay green are reported (docs/mutants.md).
# Not part of make test (a few minutes); MUTANTS=name,... runs only those.
mutants: deps
	@sh scripts/mutants.sh

# The real binary in tmux: a simulated patient READYs, the doctor calls and
# hangs up; and in xterm under Xvfb, drawing the patient in sixel.
e2e: build
	TELECONSOLE_BIN=$(CURDIR)/teleconsole $(GO) test -timeout 5m -run 'TestEndToEnd' -count=1 ./systest/

# Faults and low bandwidth, as root: two network namespaces joined
# by a shaped link (systest/netlab_test.go), the real binary on each side, and the
# adaptation with in-process engines. Fails, never skips, without root.
faults: build
	TELECONSOLE_BIN=$(CURDIR)/teleconsole $(GO) test -race -timeout 6m -run 'TestFault' -count=1 -v ./systest/

# The hub's start-up and failover proofs at full length (docs/hub.md): twenty
# simultaneous starts of two and of three replicas on new three-node
# clusters, twenty with NATS five seconds late (make test runs two, two and
# one), and the stream leader's node killed while patients post.
hub-starts:
	TELECONSOLE_HUB_STARTS=20 $(GO) test -race -timeout 30m -count=1 -v -run 'TestReplicasStart|TestNoPatientRefused' ./hub/

# playwright-core, pinned by interop/package-lock.json; it uses Debian's
# Chromium and never downloads a browser.
interop/node_modules: interop/package.json interop/package-lock.json
	cd interop && npm ci --no-audit --no-fund
	@touch $@

# Real libwebrtc peers: headless Chromium as the patient against the console
# in tmux, and as the doctor against the simulated patient; and the sound
# tests (systest/sound_test.go, sound_devices_test.go, echo_test.go) on a
# PulseAudio server each starts for itself.
interop: build interop/node_modules
	$(NETNS) 'ip link set lo up && TELECONSOLE_BIN=$(CURDIR)/teleconsole exec $(GO) test -timeout 10m -run TestInterop -count=1 -v ./systest/'

# The benchmarks of each package, then the side-by-side run against headless
# Chromium (in a loopback-only network namespace) that prints the table.
bench: test-deps build interop/node_modules
	$(GO) test -run '^$$' -bench . -skip 'SideBySide|LipSync' -benchtime 3s ./uhiclient/ ./booking/ ./call/ ./ui/ ./app/ ./hub/ ./systest/ | tee bench.out
	$(NETNS) 'ip link set lo up && TELECONSOLE_BIN=$(CURDIR)/teleconsole TELECONSOLE_BENCH_OUT=$(CURDIR)/bench.out \
	  TELECONSOLE_BENCH_TABLE=$(CURDIR)/bench-table.md exec $(GO) test -run "^$$" -bench "^BenchmarkSideBySide$$" -benchtime 1x -timeout 20m ./systest/' \
	  > bench-side.out 2>&1 || { cat bench-side.out; exit 1; }
	@cat bench-side.out >> bench.out
	@echo; echo "Side by side (bench-table.md, the table of docs/benchmarks.md):"; echo; cat bench-table.md

# The lip-sync calls of the side-by-side run alone, with each mark as its
# receiver saw it.
lipsync: test-deps build interop/node_modules
	$(NETNS) 'ip link set lo up && TELECONSOLE_BIN=$(CURDIR)/teleconsole exec $(GO) test -run "^$$" -bench LipSync -benchtime 1x -timeout 5m ./systest/'

clean:
	rm -rf teleconsole bench.out bench-side.out bench-table.md interop/node_modules
