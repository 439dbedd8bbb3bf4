# Thin shim over meson/ninja: the targets people type.
#   make        build build/opsd
#   make run    install missing packages, build, serve examples/opsd.yaml
#   make test   install missing packages, build, run every test (unit, config, e2e)
#               under AddressSanitizer + UndefinedBehaviorSanitizer, and the unit
#               suites once more under valgrind
#   make lint   clang-tidy + cppcheck       make format   clang-format -i
#   make bench  bench/probe-scale --vs monit
MESON ?= meson
NINJA ?= ninja

.PHONY: all run test deps asan lint format bench clean

all: build/build.ninja
	$(NINJA) -C build

build/build.ninja:
	$(MESON) setup build --buildtype=debugoptimized -Dwerror=true >/dev/null

build-asan/build.ninja:
	$(MESON) setup build-asan --buildtype=debug -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null

deps:
	@scripts/install-deps

run: deps all
	@mkdir -p var
	@echo "opsd: status page at http://127.0.0.1:8080/  (Ctrl-C to stop)"
	./build/opsd serve -c examples/opsd.yaml

asan: build-asan/build.ninja
	$(NINJA) -C build-asan

test: deps all asan
	@tests/run --opsd build-asan/opsd --unit-dir build-asan --valgrind-dir build

lint: build/build.ninja
	clang-tidy -p build --quiet --extra-arg=-Wno-unknown-warning-option $$(git ls-files 'src/*.c')
	cppcheck --quiet --enable=warning,performance,portability --error-exitcode=1 \
		--inline-suppr -I src --suppress=missingIncludeSystem src

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

bench: deps all
	bench/probe-scale --vs monit

clean:
	rm -rf build build-asan
