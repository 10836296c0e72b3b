#!/usr/bin/env bash
# Runs every test the way CI does: formatting and vet, then the whole suite
# with the race detector and Mat leak profiling. The tests start what they
# need themselves (a throwaway RabbitMQ server, Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi
# A real librealsense2 for the realsense tests (see fetch-realsense.sh).
export REALSENSE_LIB=${REALSENSE_LIB:-$(scripts/fetch-realsense.sh)}
go vet ./...
go vet -tags matprofile ./...
# The metadata types, decoders, tracker and RabbitMQ client are pure Go:
# they build and pass their tests without cgo (and so without OpenCV).
CGO_ENABLED=0 go vet ./pipeline/meta/... ./models/... ./mq/... ./pipeline/track/...
CGO_ENABLED=0 go test -count=1 -timeout 10m ./pipeline/meta/... ./models/... ./mq/... ./pipeline/track/...
go test -race -tags matprofile -count=1 -timeout 20m ./...
