# conveyor: `make run` does everything on a fresh machine and blurs the faces
# of the bundled sample clip; `make test` does everything and runs every test.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO      ?= go
BIN     := bin/conveyor
SAMPLE  := assets/media/video/head-pose-face-detection-female-and-male.mp4
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test deps test-deps assets bundle build cuda trt install vet fmt-check bench fuzz clean

run: deps assets build
	@mkdir -p out
	$(BIN) run --source $(SAMPLE) --out out/blurred.mp4 --jsonl out/events.jsonl
	@echo "make run: open out/blurred.mp4; events are in out/events.jsonl"

test: test-deps assets
	scripts/test.sh

deps:
	scripts/install-deps.sh

test-deps:
	scripts/install-deps.sh --test

assets:
	scripts/fetch-assets.sh

# The default model goes into the binary (models/assets.go embeds
# models/bundled/, git-ignored), so that an installed or copied binary runs
# with it anywhere. Without assets/ the binary finds the model on disk only.
BUNDLED := models/bundled/face_detection_yunet_2022mar.onnx
bundle:
	@if [ -e assets/models/yunet/face_detection_yunet_2022mar.onnx ]; then \
	  cmp -s assets/models/yunet/face_detection_yunet_2022mar.onnx $(BUNDLED) || \
	  install -m 0644 assets/models/yunet/face_detection_yunet_2022mar.onnx $(BUNDLED); \
	else echo "make: assets/ has no default model (make assets): the binary will not embed it"; fi

build: bundle
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/conveyor

# TensorRT + CUDA build (Jetson, or x86 with TensorRT 8.5/8.6, 10.x or 11.x
# and CUDA 11.4+): docs/TENSORRT.md. Without TensorRT, `--backend tensorrt`
# says how to get it. KernelsID (the library's sha256) makes go relink when
# only libconveyorcuda.a changed: go build skips a binary whose Go inputs
# did not.
cuda:
	trt/cuda/build.sh

trt: cuda bundle
	$(GO) build -tags "tensorrt cuda" \
	  -ldflags "$(LDFLAGS) -X github.com/conveyor-vision/conveyor/trt/cuda.KernelsID=$$(sha256sum out/cuda/libconveyorcuda.a | cut -c1-16)" \
	  -o $(BIN) ./cmd/conveyor

# Installs bin/conveyor (make build, make trt or make jetson first, as
# yourself) and the default model where an installed binary looks for it:
# $(PREFIX)/bin and $(PREFIX)/share/conveyor. DESTDIR for packaging.
PREFIX ?= /usr/local
install:
	@[ -x $(BIN) ] || { echo "make install: $(BIN) missing: run make build (or make trt, make jetson) first"; exit 1; }
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/conveyor
	@if [ -e assets/models/yunet/face_detection_yunet_2022mar.onnx ]; then \
	  install -D -m 0644 "$$(readlink -f assets/models/yunet/face_detection_yunet_2022mar.onnx)" \
	    $(DESTDIR)$(PREFIX)/share/conveyor/models/yunet/face_detection_yunet_2022mar.onnx; fi

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Go benchmarks of the pipeline core and the detector (docs/BENCHMARKS.md).
bench: assets
	$(GO) test -run '^$$' -bench . -benchtime 2s ./pipeline ./pipeline/infer

# A short fuzzing pass over every decoder and the ONNX reader.
fuzz:
	for f in $$($(GO) test -list 'Fuzz.*' ./models | grep ^Fuzz); do \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s ./models || exit 1; done

clean:
	rm -rf bin out

include scripts/jetson.mk
