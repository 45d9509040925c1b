# ghnotify: make run | test | build | lint | nats | images | secrets | up | logs | down | bench | clean
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

.PHONY: all run build test test-unit fuzz lint nats nats-context images secrets up logs down bench clean

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

## nats: the nats CLI (natscli, pinned in tools/go.mod, a module of its own
## outside the workspace so its dependencies stay out of the services) as
## bin/nats. The end-to-end tests run the documented nats recipes with it.
nats: $(BIN)/nats

$(BIN)/nats: tools/go.mod tools/go.sum
	cd tools && GOWORK=off CGO_ENABLED=0 $(GO) build -trimpath -o $(abspath $(BIN))/nats github.com/nats-io/natscli/nats

## test: every module's tests with the race detector, then a short run of each fuzz target.
test: test-unit fuzz

test-unit:
	$(GO) test -race -count=1 work

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

## lint: go vet, staticcheck (pinned as a tool in cmd/ghnotify/go.mod) and gofmt.
lint:
	$(GO) vet work
	$(GO) tool staticcheck $(addprefix ./,$(addsuffix /...,$(MODULES)))
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; gofmt -d $$out; exit 1; fi

## images: one FROM-scratch image per service plus NATS, from the static binaries in bin/.
images: build
	@for img in $(IMAGES); do \
		echo "docker build ghnotify/$$img:$(TAG)"; \
		docker build -q -f docker/Dockerfile.$$img -t ghnotify/$$img:$(TAG) . || exit 1; \
	done

## secrets: the compose stack's NATS credentials, generated once into
## secrets/nats.env (git-ignored, readable by you only); kept when present.
SECRETS  ?= secrets
secrets: $(SECRETS)/nats.env

$(SECRETS)/nats.env:
	@umask 077; mkdir -p $(SECRETS); \
	pw=$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'); \
	printf '# NATS credentials of the compose stack (make secrets). Keep private.\nNATS_USER=ghnotify\nNATS_PASSWORD=%s\n' "$$pw" > $@.tmp && mv $@.tmp $@
	@echo "generated $@ (NATS user and password of the compose stack)"

## up: start the compose stack (needs GITHUB_WEBHOOK_SECRET in the environment;
## generates the NATS credentials first if needed).
up: secrets
	@test -n "$$GITHUB_WEBHOOK_SECRET" || { echo "make up: set GITHUB_WEBHOOK_SECRET (e.g. export GITHUB_WEBHOOK_SECRET=\$$(openssl rand -hex 32)); the gateway refuses to start without it" >&2; exit 1; }
	$(COMPOSE) -p $(COMPOSE_PROJECT) up -d

## logs: follow the compose stack's logs (SERVICE=slack-sink for one service).
logs:
	$(COMPOSE) -p $(COMPOSE_PROJECT) logs -f $(SERVICE)

## down: stop the compose stack, keeping the JetStream volume (down -v removes it).
down: secrets
	$(COMPOSE) -p $(COMPOSE_PROJECT) down

## nats-context: the nats CLI context "ghnotify" for the compose stack's NATS
## (127.0.0.1:$GHNOTIFY_NATS_PORT, 4222, with the credentials in secrets/nats.env).
nats-context: $(BIN)/ghnotify secrets
	@set -a; . $(abspath $(SECRETS))/nats.env; set +a; \
	NATS_URL=nats://127.0.0.1:$${GHNOTIFY_NATS_PORT:-4222} ./$(BIN)/ghnotify nats-context

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
