# Jetson and arm64 targets (docs/JETSON.md). Included from the Makefile.
#   make jetson           on a Jetson: check OpenCV vs gocv, build with TensorRT and CUDA
#   make cross-arm64      on x86-64 Debian 12: bin/conveyor-linux-arm64 (CPU backend)
#   make test-arm64       the test suite cross-compiled for arm64, run under qemu-aarch64
#   sudo make install-service   conveyor as a systemd service (scripts/systemd/)
#   make verify-service   systemd-analyze verify, the example config, SIGTERM finalizes
.PHONY: jetson cross-arm64 test-arm64 install-service verify-service

jetson: deps assets bundle
	scripts/jetson-build.sh

cross-arm64:
	scripts/cross-arm64.sh

test-arm64:
	scripts/test-arm64.sh

# No build here: run as root, it would leave root-owned files in the
# checkout. `make jetson` or `make build` first, as yourself.
install-service:
	scripts/install-service.sh

verify-service: build assets
	scripts/verify-service.sh
