//go:build matprofile

package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"gocv.io/x/gocv"
)

// matsCollector exposes the number of live gocv Mats, in builds with
// -tags matprofile (the soak test, scripts/soak.sh).
func matsCollector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "conveyor_gocv_mats",
		Help: "gocv Mats alive now (builds with -tags matprofile only).",
	}, func() float64 { return float64(gocv.MatProfile.Count()) })
}
