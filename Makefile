# rapyer for Go. `make` lists the targets.
#
# Every test runs on the embedded server; the same tests also run against a
# real Redis when REDIS_URL is set (the tests read it themselves), so one
# `go test` covers both backends.

SHELL := /bin/bash
GO    ?= go
# The oldest Go the code needs (rand.Text, slog.DiscardHandler: Go 1.24); the
# go line of every go.mod in the repository must say it (make gomin), but
# bench/'s and otel/'s, which follow their dependencies (go-redis, rueidis
# and OpenTelemetry v1.47 need Go 1.26); the library itself does not.
GOMIN := 1.24

.DEFAULT_GOAL := help
.PHONY: help test test-redis test-cluster race bench lint gomin

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

test: ## run every test with -race on the embedded server, and on Redis too when REDIS_URL is set, on a cluster when REDIS_CLUSTER_ADDRS is
	@backends=embedded; \
	if [ -n "$$REDIS_URL" ]; then backends="$$backends + redis ($$(echo "$$REDIS_URL" | sed -E 's#//[^@/]*@#//***@#'))"; fi; \
	if [ -n "$$REDIS_CLUSTER_ADDRS" ]; then backends="$$backends + cluster ($$REDIS_CLUSTER_ADDRS)"; fi; \
	echo "make test: backends: $$backends (REDIS_URL, REDIS_CLUSTER_ADDRS or make test-redis, make test-cluster add the others)"
	$(GO) test -race -count=1 -timeout 30m ./...
	cd otel && $(GO) test -race -count=1 ./...
	cd cmd/rapyervet && $(GO) test -count=1 ./...
	@echo "make test: passed"

test-redis: ## start a throwaway redis-server on a free port, run make test against it, stop it
	@bash .ci/with-redis $(MAKE) --no-print-directory test

test-cluster: ## start a throwaway 3-master Redis Cluster (.ci/with-cluster), run make test on it too (as .ci/run does), stop it
	@bash .ci/with-cluster $(MAKE) --no-print-directory test

race: ## same as test (the suite always runs with -race)
	@$(MAKE) --no-print-directory test

bench: ## run the benchmarks in bench/ (its own go.mod)
	cd bench && $(GO) test -run '^$$' -bench . -benchmem ./...

lint: ## gofmt -l, go vet, staticcheck (when installed), no "reflect" outside serialize/msgpack*.go, rapyervet over examples/
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd otel && $(GO) vet ./...
	@sc=$$(command -v staticcheck || echo "$$($(GO) env GOPATH)/bin/staticcheck"); \
	if [ -x "$$sc" ]; then echo "$$sc ./..."; "$$sc" ./...; else echo "staticcheck not installed: skipped"; fi
	@bad=$$(find . -name '*.go' ! -name '*_test.go' ! -path './.git/*' ! -path './bench/*' \
		! -path '*/testdata/*' ! -path './serialize/msgpack*.go' -print0 \
		| xargs -0 -r grep -lE '^[[:space:]]*(import[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*[[:space:]]+|[._][[:space:]]+)?"reflect"'); \
	if [ -n "$$bad" ]; then echo "lint: \"reflect\" is imported outside serialize/msgpack*.go and bench/:"; echo "$$bad"; exit 1; fi
	@# rapyervet (cmd/rapyervet, its own module) over the examples: handles a
	@# schema function leaves out, operations in a Tx/Batch given another context.
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
		(cd cmd/rapyervet && $(GO) vet ./... && $(GO) build -o "$$dir/rapyervet" .) && \
		echo "rapyervet ./examples/..." && "$$dir/rapyervet" ./examples/...
	@echo "lint: ok"

gomin: ## check every go.mod asks for Go $(GOMIN) and the code builds and vets within it
	@# cmd/rapyervet, a developer's tool, asks for the Go of golang.org/x/tools.
	@for m in $$(find . -name go.mod ! -path '*/testdata/*' ! -path './cmd/rapyervet/*' -printf '%h\n' | sort); do \
		v=$$(cd "$$m" && $(GO) list -m -f '{{.GoVersion}}'); \
		if [ "$$m" != ./bench ] && [ "$$m" != ./otel ] && [ "$$v" != "$(GOMIN)" ]; then echo "gomin: $$m/go.mod says go $$v, want go $(GOMIN) (the Makefile's GOMIN)"; exit 1; fi; \
		echo "gomin: $$m: go $$v; go mod tidy -diff, go build, go vet (compiler -lang=go$(GOMIN), vet's stdversion)"; \
		(cd "$$m" && $(GO) mod tidy -diff && $(GO) build ./... && $(GO) vet ./...) || exit 1; \
	done
	@echo "gomin: ok"
