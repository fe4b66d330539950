# Rolegate. `make run` serves the portal; `make test` runs every check CI runs.
SHELL := /bin/bash
export CGO_ENABLED := 1
# One build-tag set for build, vet and test, so SQLite is compiled once.
TAGS :=
GO := go
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/rolegate
CHROMIUM := /usr/lib/chromium/chromium

.PHONY: run demo build test fmt-check deps deps-gcc deps-chromium deps-fonts deps-poppler deps-proxies generate check-generated vet staticcheck unit bench fuzz screenshots clean

run: build
	./$(BIN) serve $(ARGS)

# make demo: a sample group practice in ./data/demo.db; then `make run ARGS="--db ./data/demo.db"`.
# make demo ARGS=--force: replace that demo practice with a new one (and a new password).
DEMO_DB ?= ./data/demo.db
demo: build
	./$(BIN) demo --db $(DEMO_DB) $(ARGS)

build: deps-gcc generate
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/rolegate

generate:
	$(GO) tool templ generate -log-level error

# Fails when a *_templ.go file was not regenerated after its .templ changed.
check-generated:
	@before=$$(find . -name '*_templ.go' -not -path './.git/*' | sort | xargs sha256sum); \
	$(GO) tool templ generate -log-level error; \
	after=$$(find . -name '*_templ.go' -not -path './.git/*' | sort | xargs sha256sum); \
	if [ "$$before" != "$$after" ]; then \
		echo "Generated templ code was out of date; it has been regenerated now - commit it."; \
		diff <(echo "$$before") <(echo "$$after"); exit 1; fi

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags '$(TAGS)' ./...

staticcheck:
	$(GO) tool staticcheck -tags '$(TAGS)' ./...

unit:
	$(GO) test -tags '$(TAGS)' -count=1 -timeout 30m ./...

test: deps check-generated fmt-check vet staticcheck unit

# make bench: benchmarks only (figures, never pass/fail timings).
bench: deps-gcc
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchmem ./...

# make fuzz FUZZTIME=1m: run every fuzz target for a while (make test runs their seed corpus).
FUZZTIME ?= 20s
fuzz: deps-gcc
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -tags '$(TAGS)' -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; done

deps: deps-gcc deps-chromium deps-fonts deps-poppler deps-proxies

deps-gcc:
	@command -v gcc >/dev/null || $(call install,gcc,gcc)

deps-chromium:
	@test -x $(CHROMIUM) || $(call install,chromium,chromium fonts-dejavu-core)

# The browser tests' staff have Chinese and Japanese names too: without a font for them Chromium
# draws empty boxes in the screenshots and the printed access report.
deps-fonts:
	@fc-list 2>/dev/null | grep -qi 'WenQuanYi Micro Hei' || $(call install,a CJK font,fonts-wqy-microhei)

# The access report's browser test reads the printed PDF with pdftotext and draws its first
# page with pdftoppm.
deps-poppler:
	@command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || $(call install,pdftotext,poppler-utils)

# The forward-auth tests run the README's snippets against real nginx and Caddy.
deps-proxies:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || $(call install,nginx,nginx-light)
	@command -v caddy >/dev/null || $(call install,caddy,caddy)

# install NAME,PACKAGES: apt-get on a Debian machine run as root; otherwise say what is missing.
define install
	{ if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing $(2) (needed by make test)…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(2) >/dev/null; \
	else \
		echo "$(1) is missing. Install it (Debian: sudo apt-get install $(2)) and run make again." >&2; exit 1; \
	fi; }
endef

clean:
	rm -rf bin

# make screenshots: run the browser tests and keep their screenshots for the README.
screenshots: deps
	ROLEGATE_SCREENSHOTS=update $(GO) test -tags '$(TAGS)' -count=1 ./web/e2e/ ./web/proxy/
