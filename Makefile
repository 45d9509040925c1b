# ghnotify: make run | test | test-chaos | build | lint | nats | images | secrets | up | logs | down |
#           up-cluster | down-cluster | test-cluster | bench | wrk | chromium | test-browser |
#           screenshots | messages | clean
#
# Needs only Go (on PATH); images, up and down also need Docker.

GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# fuzz runs each target for FUZZTIME (CI runs a short pass: FUZZTIME=3s).
FUZZTIME ?= 30s
TAG      ?= latest

# The module directories of the workspace (go.work).
MODULES  := shared services/gateway services/normalizer services/slack-sink cmd/ghnotify

# docker compose (plugin) when present, else docker-compose.
COMPOSE  ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
COMPOSE_PROJECT ?= ghnotify

IMAGES   := gateway normalizer slack-sink nats

.PHONY: all run build test test-unit test-chaos fuzz lint nats nats-context images secrets up logs down bench bench-go clean \
	secrets-cluster up-cluster down-cluster test-cluster chromium wrk test-browser screenshots messages

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

## test: every module's tests with the race detector (every fuzz target's
## seed corpus runs as a test too); fuzzing itself is `make fuzz`.
test: test-unit

# The payload corpus beside the checkout is extra coverage; without it the
# tests that read it skip (and fail when CI is set).
CORPUS   := $(abspath ..)/shared/testdata/github-webhooks

test-unit:
	@if [ ! -f $(CORPUS)/INDEX.tsv ]; then echo "note: payload corpus not found at $(CORPUS); the tests that read it are skipped$${CI:+ and fail because CI is set}"; fi
	$(GO) test -race -count=1 work

## test-chaos: the chaos suite (build tag chaos) over the real binaries:
## kill -9 and restarts, a NATS restart, Slack 429/503 bursts, a full disk.
CHAOS_TIMEOUT ?= 9m
test-chaos: build
	cd cmd/ghnotify && $(GO) test -tags chaos -count=1 -v -timeout $(CHAOS_TIMEOUT) -run '^TestChaos$$' ./chaos/

## fuzz: every FuzzXxx target in the workspace, each for FUZZTIME (30s), through
## tools/fuzz-target (which runs a target once more after Go's fuzz
## coordinator race, go.dev/issue/75804, when it wrote no failing input).
fuzz:
	@set -e; for mod in $(MODULES); do \
		grep -rl --include='*_test.go' '^func Fuzz' $$mod 2>/dev/null | xargs -r -n1 dirname | sort -u | while read -r dir; do \
			for fz in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' | sort -u); do \
				echo "fuzz $$dir $$fz ($(FUZZTIME))"; \
				GO=$(GO) tools/fuzz-target $$dir $$fz $(FUZZTIME) || exit 1; \
			done; \
		done || exit 1; \
	done

## lint: go vet, staticcheck (pinned as a tool in cmd/ghnotify/go.mod) and gofmt;
## the chaos suite, the cluster failover test and the browser test (build tags
## chaos, cluster, browser) are vetted and checked too.
lint:
	$(GO) vet work
	$(GO) tool staticcheck $(addprefix ./,$(addsuffix /...,$(MODULES)))
	$(GO) vet -tags chaos ./cmd/ghnotify/chaos/...
	$(GO) tool staticcheck -tags chaos ./cmd/ghnotify/chaos/...
	$(GO) vet -tags cluster ./cmd/ghnotify/
	$(GO) tool staticcheck -tags cluster ./cmd/ghnotify/
	$(GO) vet -tags browser ./cmd/ghnotify/ ./cmd/ghnotify/internal/messagepictures/
	$(GO) tool staticcheck -tags browser ./cmd/ghnotify/ ./cmd/ghnotify/internal/messagepictures/
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

## secrets-cluster: the cluster's NATS credentials: the clients' (make secrets)
## and, in secrets/nats-cluster.env, the user and password the nodes' routes
## authenticate with, and the three route URLs carrying them; kept when present.
secrets-cluster: secrets $(SECRETS)/nats-cluster.env

$(SECRETS)/nats-cluster.env:
	@umask 077; mkdir -p $(SECRETS); \
	pw=$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'); \
	{ printf '# Route credentials of the NATS cluster (make secrets-cluster). Keep private.\n'; \
	  printf 'NATS_CLUSTER_USER=ghnotify-route\nNATS_CLUSTER_PASSWORD=%s\n' "$$pw"; \
	  for n in 1 2 3; do printf 'NATS_ROUTE_%s=nats-route://ghnotify-route:%s@nats%s:6222\n' $$n "$$pw" $$n; done; \
	} > $@.tmp && mv $@.tmp $@
	@echo "generated $@ (route user and password of the NATS cluster)"

## up-cluster / down-cluster: the three-node cluster stack
## (docker-compose.cluster.yml; needs GITHUB_WEBHOOK_SECRET). down-cluster keeps
## the nodes' volumes (down -v removes them).
CLUSTER_PROJECT ?= ghnotify-cluster
CLUSTER_COMPOSE  = $(COMPOSE) -p $(CLUSTER_PROJECT) -f docker-compose.cluster.yml
up-cluster: secrets-cluster
	$(CLUSTER_COMPOSE) up -d

down-cluster: secrets-cluster
	GITHUB_WEBHOOK_SECRET=$${GITHUB_WEBHOOK_SECRET:-unused} $(CLUSTER_COMPOSE) down

## test-cluster: the failover test on the cluster stack (needs Docker; skipped
## with a message where no engine is reachable). Builds the images under the
## tag CLUSTER_TEST_TAG, runs them as the compose project ghnotify-cluster-test
## and removes it, volumes included, at the end (here too, should the test
## binary die before its own clean-up).
CLUSTER_TEST_TAG ?= cluster-test
test-cluster:
	@if ! docker info >/dev/null 2>&1; then \
		echo "SKIPPED: no Docker engine is reachable (docker info failed); the cluster failover test did not run."; \
		exit 0; \
	fi; \
	$(MAKE) --no-print-directory images TAG=$(CLUSTER_TEST_TAG) && $(MAKE) --no-print-directory secrets-cluster && \
	{ GHNOTIFY_TAG=$(CLUSTER_TEST_TAG) GHNOTIFY_COMPOSE="$(COMPOSE)" \
		$(GO) test -tags cluster -run '^TestClusterFailover$$' -count=1 -timeout 15m -v ./cmd/ghnotify; status=$$?; \
	  GITHUB_WEBHOOK_SECRET=unused $(COMPOSE) -p ghnotify-cluster-test -f docker-compose.cluster.yml down -v --remove-orphans >/dev/null 2>&1; \
	  exit $$status; }

## nats-context: the nats CLI context "ghnotify" for the compose stack's NATS
## (127.0.0.1:$GHNOTIFY_NATS_PORT, 4222, with the credentials in secrets/nats.env).
nats-context: $(BIN)/ghnotify secrets
	@set -a; . $(abspath $(SECRETS))/nats.env; set +a; \
	NATS_URL=nats://127.0.0.1:$${GHNOTIFY_NATS_PORT:-4222} ./$(BIN)/ghnotify nats-context

## bench: one table of the figures of docs/performance.md: the gateway
## against a minimal baseline receiver (Go load generator, and wrk when
## installed), the normalizer's events/s, and `ghnotify run` as a whole:
## end-to-end latency under open-loop load, memory, restart to ready, the
## sustained rate, and the same with 1,000,000 retained deliveries
## (cmd/ghnotify/bench; flags in BENCH_FLAGS). About 15 minutes;
## BENCH_QUICK=1 runs a small version in under 2 minutes. Nothing is asserted.
## Results and how to read them: docs/performance.md.
BENCH_FLAGS ?=
bench:
	@if command -v wrk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then $(MAKE) --no-print-directory wrk; \
	else echo "note: wrk is not installed; the gateway's wrk rows are left out (Debian: apt-get install wrk, or make wrk as root)"; fi
	$(GO) run ./cmd/ghnotify/bench $(BENCH_FLAGS)

## wrk: Debian's wrk, the independent HTTP load generator of make bench,
## installed with apt-get when missing; needs root.
wrk:
	@if command -v wrk >/dev/null 2>&1; then \
		echo "wrk: $$(command -v wrk) (already installed)"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "make wrk: run as root (apt-get install wrk)" >&2; exit 1; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; \
	fi

## bench-go: every module's Go benchmarks on one core, one package at a
## time (the normalizer's target is per core).
bench-go:
	$(GO) test -p 1 -cpu 1 -run='^$$' -bench=. -benchmem work

## chromium: Debian's chromium (with an emoji font, so messages show their
## emoji, and a fallback font for the full-width look-alikes of Slack's
## formatting characters, such as ＿) for the browser test and make messages,
## installed with apt-get when missing; needs root.
CHROMIUM_PACKAGES := chromium fonts-noto-color-emoji fonts-droid-fallback
chromium:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi 'emoji' && [ -n "$$(fc-list ':charset=ff3f' 2>/dev/null)" ]; then \
		echo "chromium: $$(command -v chromium) (already installed)"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "make chromium: run as root (apt-get install $(CHROMIUM_PACKAGES))" >&2; exit 1; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(CHROMIUM_PACKAGES); \
	fi

## test-browser: the web console in headless Chromium against the whole stack
## in process (build tag browser); skipped with a message without chromium
## (failed when CI is set). Screenshots go to $(BIN)/screenshots. Then the
## test of the command make messages takes its pictures with.
test-browser:
	GHNOTIFY_SCREENSHOTS=$${GHNOTIFY_SCREENSHOTS:-$(abspath $(BIN))/screenshots} \
		$(GO) test -tags browser -count=1 -v -timeout 5m -run '^TestConsoleInABrowser$$' ./cmd/ghnotify
	$(GO) test -tags browser -count=1 -timeout 2m ./cmd/ghnotify/internal/messagepictures

## screenshots: the browser test, saving its screenshots into docs/console/
## (the ones docs/console.md shows).
screenshots:
	$(MAKE) --no-print-directory test-browser GHNOTIFY_SCREENSHOTS=$(abspath docs/console)

## messages: the message gallery docs/messages.md, with a picture of every
## golden message as Slack shows it (docs/messages/<dir>/<case>.png and their
## manifest.json, taken in headless Chromium: needs `make chromium`). Run it
## after changing a layout, the goldens or the Block Kit renderer: the
## gallery's test fails until then.
messages:
	$(GO) run ./cmd/ghnotify/internal/messagepictures -o docs/messages
	$(GO) run ./services/slack-sink/slack/message/gallery -o docs/messages.md -pictures docs/messages

clean:
	rm -rf $(BIN)
