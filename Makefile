# make bench: regenerates the numbers and the chart of docs/PERFORMANCE.md.
# It takes about 12 minutes (the soak's memory per sign-in over
# BENCH_SOAK_N users included: make soak runs the long one); run it on a quiet machine (the numbers of a
# shared one are noisy). The Redis benchmarks skip without redis-server.
# The load test also runs oauth2-proxy (installed into $(OAUTH2_PROXY)'s
# directory, outside the repository, the first time) against a fake Okta,
# for the side-by-side comparison; OAUTH2_PROXY= (empty) leaves it out.
# redisstore, examples/workspace and internal/comparebench (gorilla/sessions
# and go-oidc, for comparison) are modules of their own: go.work lets one go
# command reach them from the repository root.

BENCH_DIR    := docs/bench
COUNT        ?= 6
OAUTH2_PROXY ?= $(shell go env GOPATH)/bin/oauth2-proxy
OAUTH2_PROXY_VERSION := v7.15.6
BENCH_SOAK_N ?= 20000

.PHONY: bench profile oauth2-proxy

bench: $(if $(OAUTH2_PROXY),oauth2-proxy)
	mkdir -p $(BENCH_DIR)
	go test -count=1 -run '^TestRequestCookieSize$$' -v . | tee $(BENCH_DIR)/cookie.txt
	go test -run '^$$' -bench . -benchmem -count $(COUNT) . ./bearer/ ./internal/comparebench/ | tee $(BENCH_DIR)/root.txt
	go test -run '^$$' -bench . -benchmem -count $(COUNT) ./redisstore/ | tee $(BENCH_DIR)/redisstore.txt
	go test -run '^$$' -bench 'Routes|RenderWorkspace' -benchmem -count $(COUNT) ./examples/workspace/ | tee $(BENCH_DIR)/routes.txt
	go run ./internal/cmd/loadtest -c 16 -d 15s -rounds 3 -control $(if $(OAUTH2_PROXY),-oauth2-proxy $(OAUTH2_PROXY)) \
		-json $(BENCH_DIR)/loadtest.json | tee $(BENCH_DIR)/loadtest.txt
	go run ./internal/comparebench/soak -n $(BENCH_SOAK_N) -c 16 | tee $(BENCH_DIR)/soak.txt
	go run ./internal/cmd/perfchart -bench $(BENCH_DIR)/root.txt -bench $(BENCH_DIR)/redisstore.txt \
		-bench $(BENCH_DIR)/routes.txt -load $(BENCH_DIR)/loadtest.json -o docs/performance.png | tee $(BENCH_DIR)/medians.md

# oauth2-proxy for the load test's comparison (issue 21): built from source
# with go install, outside the repository; never commit the binary.
oauth2-proxy:
	test -x $(OAUTH2_PROXY) || GOBIN=$(dir $(OAUTH2_PROXY)) go install github.com/oauth2-proxy/oauth2-proxy/v7@$(OAUTH2_PROXY_VERSION)

# make profile: where a cache miss spends its time.
profile:
	go test -run '^$$' -bench 'SessionCheck/miss' -benchtime 3s -cpuprofile /tmp/oktasso-cpu.out -o /tmp/oktasso.test .
	go tool pprof -top -nodecount 30 /tmp/oktasso.test /tmp/oktasso-cpu.out

# make soak: the memory an oktasso app and a hand-wired go-oidc app each
# gain over N distinct users' sign-ins (docs/PERFORMANCE.md). N=100000 takes
# 17 to 40 minutes on a shared 2-core machine; SOAK_N=20000 about 3.
SOAK_N ?= 100000
.PHONY: soak
soak:
	go run ./internal/comparebench/soak -n $(SOAK_N) -c 16
