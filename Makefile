# Thin shim over meson/ninja: the targets people type.
#   make        build build/opsd
#   make run    install missing packages, build, serve examples/opsd.yaml
#   make test   install missing packages, build, run every test (unit, config, e2e)
#               under AddressSanitizer + UndefinedBehaviorSanitizer, and the unit
#               suites once more under valgrind
#   make lint   clang-tidy + cppcheck       make format   clang-format -i
#   make bench  bench/probe-scale --vs monit
#   make fuzz   build the libFuzzer targets with clang (build-fuzz) and run each
#               for FUZZ_SECONDS (default 60); inputs that add coverage are merged
#               into tests/fuzz/corpus/<target>/, crashes land in build-fuzz/crashes/
MESON ?= meson
NINJA ?= ninja
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = config web util

.PHONY: all run test deps fuzz-deps lint-deps asan fuzz lint format bench clean

all: build/build.ninja
	$(NINJA) -C build

build/build.ninja:
	$(MESON) setup build --buildtype=debugoptimized -Dwerror=true >/dev/null

build-asan/build.ninja:
	$(MESON) setup build-asan --buildtype=debug -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null

build-fuzz/build.ninja: | fuzz-deps
	CC=clang $(MESON) setup build-fuzz --buildtype=debugoptimized -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null

deps:
	@scripts/install-deps

fuzz-deps:
	@scripts/install-deps --fuzz

lint-deps:
	@scripts/install-deps --lint

run: deps all
	@mkdir -p var
	@echo "opsd: status page at http://127.0.0.1:8080/  (Ctrl-C to stop)"
	./build/opsd serve -c examples/opsd.yaml

asan: build-asan/build.ninja
	$(NINJA) -C build-asan

test: deps all asan
	@tests/run --opsd build-asan/opsd --unit-dir build-asan --valgrind-dir build

# Each target fuzzes a working corpus in build-fuzz/corpus/<t>, seeded from the
# committed one; afterwards the new inputs that reach new code are merged into
# tests/fuzz/corpus/<t>, which `make test` replays: edges only, not hit counts,
# and a greedy set cover, so the committed corpus stays small. A target that crashes
# leaves its input in build-fuzz/crashes/<t>/ and fails the run once every
# target has had its turn.
fuzz: fuzz-deps build-fuzz/build.ninja
	$(NINJA) -C build-fuzz $(FUZZ_TARGETS:%=tests/fuzz/fuzz-%)
	@failed=""; for t in $(FUZZ_TARGETS); do \
		mkdir -p build-fuzz/corpus/$$t build-fuzz/crashes/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
		build-fuzz/tests/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-print_final_stats=1 -artifact_prefix=build-fuzz/crashes/$$t/ \
			build-fuzz/corpus/$$t tests/fuzz/corpus/$$t 2>build-fuzz/fuzz-$$t.log; \
		rc=$$?; grep -E '^#[0-9]+.*(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|invariant failed|ERROR|SUMMARY|Test unit written' \
			build-fuzz/fuzz-$$t.log; \
		if [ $$rc -ne 0 ]; then failed="$$failed $$t"; continue; fi; \
		build-fuzz/tests/fuzz/fuzz-$$t -merge=1 -set_cover_merge=1 -use_counters=0 \
			-artifact_prefix=build-fuzz/crashes/$$t/ \
			tests/fuzz/corpus/$$t build-fuzz/corpus/$$t \
			2>build-fuzz/merge-$$t.log || failed="$$failed $$t"; \
		grep -E 'MERGE-OUTER: [0-9]+ new files' build-fuzz/merge-$$t.log; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashed:$$failed (see build-fuzz/fuzz-<t>.log, build-fuzz/crashes/)"; exit 1; fi

lint: lint-deps build/build.ninja
	clang-tidy -p build --quiet --extra-arg=-Wno-unknown-warning-option $$(git ls-files 'src/*.c')
	# cppcheck skips system headers, so it is given jansson.h for its
	# json_*_foreach macros, which it would otherwise report as unknown.
	cppcheck --quiet --enable=warning,performance,portability --error-exitcode=1 \
		--inline-suppr -I src --suppress=missingIncludeSystem \
		--include=$$(pkg-config --variable=includedir jansson)/jansson.h src

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

bench: deps all
	bench/probe-scale --vs monit

clean:
	rm -rf build build-asan build-fuzz
