# tccp: `make demo` and `make test` are the two commands a newcomer needs.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DTCCP_WERROR=ON
endif

.PHONY: all deps configure build test unit bats demo cluster-up cluster-down \
        cluster-status bench format lint clean install docs

all: build

deps:
	@scripts/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The whole suite: unit tests, Bats suites, end-to-end on the local cluster.
# Ends with how many tests were skipped and why (the end-to-end suites skip
# without root).
test: build
	@rc=0; ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) || rc=$$?; \
	  scripts/test-summary.sh $(BUILD); exit $$rc

unit: build
	@ctest --test-dir $(BUILD) --output-on-failure -L unit -j $(JOBS)

bats: build
	@ctest --test-dir $(BUILD) --output-on-failure -L bats

demo: build cluster-up
	@examples/demo.sh

cluster-up: deps
	@tests/cluster/cluster.sh up

cluster-down:
	@tests/cluster/cluster.sh down

cluster-status:
	@tests/cluster/cluster.sh status

bench: build cluster-up
	@bench/run.sh

format:
	@find lib cmd tests/unit -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

lint: build
	@find lib cmd tests/unit -name '*.cpp' -o -name '*.hpp' | xargs clang-format --dry-run -Werror
	@shellcheck -s sh $(BUILD)/generated/tccp-remote
	@shellcheck scripts/*.sh tests/cluster/*.sh bench/*.sh examples/*.sh
	@shellcheck -s bash tests/bats/helpers/*.bash
	@run-clang-tidy -quiet -p $(BUILD) 'lib/tccp/.*\.cpp$$' >/dev/null 2>&1 || \
	  clang-tidy -p $(BUILD) --quiet $$(find lib -name '*.cpp') 

# Man pages and shell completions, generated from the tools' flag tables
# (tests/bats/docs.bats fails when the committed ones drift).
docs: build
	@scripts/gen-docs.sh .

install: build
	@cmake --install $(BUILD)

clean:
	@rm -rf $(BUILD)
