# teleconsole: `make demo` runs the console with its built-in demo, `make test`
# runs every check CI runs. Both install what is missing first.

GO            ?= go
STATICCHECK_V := v0.8.2
GOBIN         := $(shell $(GO) env GOPATH)/bin
STATICCHECK   := $(GOBIN)/staticcheck
# System packages: libvpx for the VP8 codec (cgo), pkg-config to find it,
# tmux for the end-to-end test of the real binary.
SYSTEM_PKGS   := libvpx-dev pkg-config gcc tmux

export CGO_ENABLED := 1

.PHONY: all deps build demo test lint unit e2e bench clean

all: build

deps:
	@sh scripts/deps.sh $(SYSTEM_PKGS)
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_V)

build: deps
	$(GO) build -o teleconsole .

demo: build
	./teleconsole demo

test: deps lint unit e2e

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

unit:
	$(GO) test -race -timeout 10m -skip 'TestEndToEnd' ./...

# The real binary in tmux: a simulated patient READYs, the doctor calls and hangs up.
e2e: build
	TELECONSOLE_BIN=$(CURDIR)/teleconsole $(GO) test -timeout 5m -run 'TestEndToEnd' -count=1 .

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 3s ./uhiclient/ ./call/ ./ui/ . | tee bench.out

clean:
	rm -f teleconsole bench.out
