//go:build !matprofile

package main

import "github.com/prometheus/client_golang/prometheus"

// matsCollector is nil without -tags matprofile: Mats are not counted.
func matsCollector() prometheus.Collector { return nil }
