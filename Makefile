# ghnotify: make run | test | test-chaos | build | lint | images | up | down | bench | clean
#
# Needs only Go (on PATH); images, up and down also need Docker.

GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 10s
TAG      ?= latest

# The module directories of the workspace (go.work).
MODULES  := shared services/gateway services/normalizer services/slack-sink cmd/ghnotify

# docker compose (plugin) when present, else docker-compose.
COMPOSE  ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
COMPOSE_PROJECT ?= ghnotify

IMAGES   := gateway normalizer slack-sink nats

.PHONY: all run build test test-unit test-chaos fuzz lint images up down bench clean

all: build

## run: build and run the whole stack in one process (embedded NATS under ./data).
run: $(BIN)/ghnotify
	./$(BIN)/ghnotify run

$(BIN)/ghnotify: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/ghnotify

FORCE:

## build: every binary, static, to bin/.
build: $(BIN)/ghnotify
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gateway ./services/gateway/cmd/gateway
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/normalizer ./services/normalizer/cmd/normalizer
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/slack-sink ./services/slack-sink/cmd/slack-sink
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/nats-server github.com/nats-io/nats-server/v2

## test: every module's tests with the race detector, then a short run of each fuzz target.
test: test-unit fuzz

test-unit:
	$(GO) test -race -count=1 work

## test-chaos: the chaos suite (build tag chaos) over the real binaries:
## kill -9 and restarts, a NATS restart, Slack 429/503 bursts, a full disk.
CHAOS_TIMEOUT ?= 9m
test-chaos: build
	cd cmd/ghnotify && $(GO) test -tags chaos -count=1 -v -timeout $(CHAOS_TIMEOUT) -run '^TestChaos$$' ./chaos/

# fuzz discovers every FuzzXxx target in the workspace and runs each for FUZZTIME.
fuzz:
	@set -e; for mod in $(MODULES); do \
		grep -rl --include='*_test.go' '^func Fuzz' $$mod 2>/dev/null | xargs -r -n1 dirname | sort -u | while read -r dir; do \
			for fz in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' | sort -u); do \
				echo "fuzz $$dir $$fz ($(FUZZTIME))"; \
				(cd $$dir && $(GO) test -run='^$$' -fuzz="^$$fz$$" -fuzztime=$(FUZZTIME) .) || exit 1; \
			done; \
		done || exit 1; \
	done

## lint: go vet, staticcheck (pinned as a tool in cmd/ghnotify/go.mod) and gofmt;
## the chaos suite's files (build tag chaos) are vetted and checked too.
lint:
	$(GO) vet work
	$(GO) tool staticcheck $(addprefix ./,$(addsuffix /...,$(MODULES)))
	$(GO) vet -tags chaos ./cmd/ghnotify/chaos/...
	$(GO) tool staticcheck -tags chaos ./cmd/ghnotify/chaos/...
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; gofmt -d $$out; exit 1; fi

## images: one FROM-scratch image per service plus NATS, from the static binaries in bin/.
images: build
	@for img in $(IMAGES); do \
		echo "docker build ghnotify/$$img:$(TAG)"; \
		docker build -q -f docker/Dockerfile.$$img -t ghnotify/$$img:$(TAG) . || exit 1; \
	done

## up: start the compose stack (needs GITHUB_WEBHOOK_SECRET in the environment).
up:
	$(COMPOSE) -p $(COMPOSE_PROJECT) up -d

## down: stop the compose stack, keeping the JetStream volume (down -v removes it).
down:
	GITHUB_WEBHOOK_SECRET=$${GITHUB_WEBHOOK_SECRET:-unused} $(COMPOSE) -p $(COMPOSE_PROJECT) down

## bench: every module's benchmarks on one core, one package at a time (the
## normalizer's target is per core), then the gateway load generator (gateway
## against a minimal baseline receiver; flags in GATEWAY_BENCH_FLAGS).
## Results and how to read them: docs/performance.md.
GATEWAY_BENCH_FLAGS ?=
bench:
	$(GO) test -p 1 -cpu 1 -run='^$$' -bench=. -benchmem work
	cd services/gateway && $(GO) run ./cmd/gateway-bench $(GATEWAY_BENCH_FLAGS)

clean:
	rm -rf $(BIN)
