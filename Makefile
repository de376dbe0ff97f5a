# Berth. The two commands a new machine needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO_TEST_FLAGS ?= -count=1 -timeout 30m
export FUZZTIME ?= 30s
BIN := build/bin/berth

export BERTH_DEFINITIONS ?= $(CURDIR)/environments

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

.PHONY: deps
deps: ## install what is missing (Debian packages, Go modules, npm packages, the wails CLI)
	@scripts/deps.sh

.PHONY: engine
engine: ## make sure a Docker engine answers (starts dockerd as root when none does)
	@scripts/engine.sh

.PHONY: images
images: engine ## build the local images the examples and tests need when no registry is reachable
	@scripts/images.sh

.PHONY: build
build: ## build the desktop binary into build/bin/
	@scripts/build.sh

.PHONY: cli
cli: ## build the CLI-only binary (no cgo, no WebKit) into build/bin/berth-cli
	CGO_ENABLED=0 go build -tags nogui -trimpath -ldflags "-s -w -X github.com/berthdev/berth/app/cli.Version=$$(scripts/version.sh)" -o build/bin/berth-cli .

.PHONY: package
package: ## build the release artefacts into build/dist/: the .deb, CLI tarballs (Linux) and binaries (macOS, Windows), SHA256SUMS
	@scripts/deps.sh package
	@scripts/package.sh

.PHONY: run
run: ## install, start the engine, build and open the desktop app on environments/
	@scripts/deps.sh run
	@scripts/engine.sh
	@scripts/images.sh
	@scripts/build.sh
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
	  echo "run: no display; starting the app under Xvfb (use berth ui --web for a browser)"; \
	  xvfb-run -a $(BIN); \
	else $(BIN); fi

.PHONY: test
test: ## install what is missing, start the engine, build the images, run every test
	@scripts/deps.sh
	@scripts/engine.sh
	@BERTH_IMAGES_NO_PULL=1 scripts/images.sh
	@scripts/build.sh
	@# The package test (mostly the mirror's downloads) runs beside the rest; its log is printed after them.
	@mkdir -p build/artifacts; scripts/test-package.sh >build/artifacts/test-package.log 2>&1 & pkg=$$!; \
	$(MAKE) --no-print-directory lint test-go test-frontend test-desktop test-browser; rest=$$?; \
	wait $$pkg; p=$$?; \
	echo "test: the package test (ran beside the rest; its log is build/artifacts/test-package.log):"; \
	sed 's/^/  /' build/artifacts/test-package.log; \
	exit $$(( rest != 0 || p != 0 ))

.PHONY: lint
lint: ## static checks: go vet, staticcheck (both build tag sets), shellcheck, svelte-check and tsc
	go vet -tags nogui ./...
	go vet -tags nogui,failpoint ./internal/failpoint/ ./app/cli/
	go tool staticcheck -tags nogui ./...
	go tool staticcheck -tags nogui,failpoint ./internal/failpoint/ ./app/cli/
	shellcheck -x scripts/*.sh .ci/run images/*/*.sh
	cd frontend && npm run --silent check

.PHONY: test-go
test-go: ## Go unit and integration tests (integration against the real engine; the fault-injection and remote-engine suites beside the rest)
	@BERTH_INTEGRATION=1 go test -tags nogui $(GO_TEST_FLAGS) -skip '^(TestFaultInjection|TestRemoteEngines)$$' ./... & all=$$!; \
	mkdir -p build/artifacts; rm -f build/artifacts/fault-report.txt; \
	BERTH_INTEGRATION=1 BERTH_FAULT_REPORT=$(CURDIR)/build/artifacts/fault-report.txt go test -tags nogui -count=1 -timeout 40m -run '^TestFaultInjection$$' ./app/cli/ & fault=$$!; \
	BERTH_INTEGRATION=1 go test -tags nogui -count=1 -timeout 30m -run '^TestRemoteEngines$$' ./app/cli/ >build/artifacts/remote-engines.log 2>&1 & remote=$$!; \
	wait $$all; a=$$?; wait $$fault; f=$$?; wait $$remote; r=$$?; \
	echo "test-go: $$(cat build/artifacts/fault-report.txt 2>/dev/null || echo 'the fault-injection suite wrote no report')"; \
	if [ $$f -ne 0 ]; then echo "test-go: the fault-injection suite failed"; fi; \
	echo "test-go: the remote-engine suite (a second engine over ssh, tcp+TLS, a context; log build/artifacts/remote-engines.log):"; tail -n 40 build/artifacts/remote-engines.log; \
	exit $$(( a != 0 || f != 0 || r != 0 ))
	# The desktop build's store runs on the system SQLite: its tests again, on that driver.
	CGO_ENABLED=1 go test -tags desktop,libsqlite3 $(GO_TEST_FLAGS) ./internal/store/

.PHONY: test-package
test-package: ## make package, then install the .deb in a fresh Debian container: version, files, libraries, berth ls on the engine
	scripts/test-package.sh

.PHONY: vet-cross
vet-cross: ## go vet the CLI for macOS and Windows (make test builds them in its package test; this also vets their tests)
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go vet -tags nogui ./...
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go vet -tags nogui ./...

.PHONY: test-unit
test-unit: ## fast Go unit tests only (no engine)
	go test -tags nogui -short ./...

.PHONY: fuzz
fuzz: ## run each Go fuzz target for FUZZTIME (default 30s; 12 targets: about 7 min), printing the inputs each tried
	scripts/fuzz.sh

.PHONY: contract
contract: ## regenerate frontend/src/api/contract.gen.ts from the Go API (make test fails while it is stale)
	go test -tags nogui -count=1 -run '^TestContractIsCurrent$$' ./app/desktop/ -update

.PHONY: test-frontend
test-frontend: ## frontend unit tests (Vitest)
	cd frontend && npm test

.PHONY: test-desktop
test-desktop: ## start the real desktop binary under Xvfb, wait for data, take a screenshot
	scripts/smoke-desktop.sh $(BIN) build/artifacts/desktop.png

.PHONY: test-browser
test-browser: ## web mode in chromium against the real engine (Playwright); screenshots in build/artifacts/playwright/
	scripts/test-browser.sh $(BIN)

.PHONY: bench
bench: ## benchmarks, printed as ratios against docker compose when it is on PATH
	@scripts/engine.sh
	@BERTH_IMAGES_NO_PULL=1 scripts/images.sh
	go run -tags nogui ./bench

.PHONY: clean
clean: ## remove build output
	rm -rf build/bin build/artifacts build/dist frontend/dist/assets
