# conveyor: `make run` does everything on a fresh machine and blurs the faces
# of the bundled sample clip; `make test` does everything and runs every test.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO      ?= go
BIN     := bin/conveyor
SAMPLE  := assets/media/video/head-pose-face-detection-female-and-male.mp4
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test deps test-deps assets build cuda trt vet fmt-check bench fuzz clean

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

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/conveyor

# TensorRT + CUDA build (Jetson, or x86 with TensorRT 8.5+/10.x and CUDA):
# docs/TENSORRT.md. Without TensorRT, `--backend tensorrt` says how to get it.
cuda:
	trt/cuda/build.sh

trt: cuda
	$(GO) build -tags "tensorrt cuda" -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/conveyor

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
