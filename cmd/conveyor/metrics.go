package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-vision/conveyor/mq"
)

// mqCollector exposes the RabbitMQ publisher's counters on /metrics.
func mqCollector(s *mq.Publisher) prometheus.Collector {
	return mqMetrics{s}
}

type mqMetrics struct{ s *mq.Publisher }

var (
	mqOffered     = prometheus.NewDesc("conveyor_mq_offered_total", "Messages handed to the RabbitMQ publisher.", nil, nil)
	mqRecovered   = prometheus.NewDesc("conveyor_mq_recovered_total", "Messages found in the on-disk outbox at start, left by an earlier run.", nil, nil)
	mqReturned    = prometheus.NewDesc("conveyor_mq_returned_total", "Confirmed messages no queue was bound to receive.", nil, nil)
	mqPublished   = prometheus.NewDesc("conveyor_mq_published_total", "basic.publish calls, republications included.", nil, nil)
	mqConfirmed   = prometheus.NewDesc("conveyor_mq_confirmed_total", "Messages the broker confirmed.", nil, nil)
	mqNacked      = prometheus.NewDesc("conveyor_mq_nacked_total", "Negative acknowledgements from the broker.", nil, nil)
	mqRepublished = prometheus.NewDesc("conveyor_mq_republished_total", "Messages published again after a nack or a lost connection.", nil, nil)
	mqDropped     = prometheus.NewDesc("conveyor_mq_dropped_total", "Messages given up, by reason.", []string{"reason"}, nil)
	mqReconnects  = prometheus.NewDesc("conveyor_mq_reconnects_total", "Reconnections to the broker.", nil, nil)
	mqOutbox      = prometheus.NewDesc("conveyor_mq_outbox_depth", "Messages waiting to be published.", nil, nil)
	mqInFlight    = prometheus.NewDesc("conveyor_mq_in_flight", "Messages published and waiting for their confirm.", nil, nil)
	mqConnected   = prometheus.NewDesc("conveyor_mq_connected", "1 when a channel to the broker is open.", nil, nil)
)

func (m mqMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mqOffered, mqRecovered, mqReturned, mqPublished, mqConfirmed, mqNacked, mqRepublished, mqDropped, mqReconnects, mqOutbox, mqInFlight, mqConnected} {
		ch <- d
	}
}

func (m mqMetrics) Collect(ch chan<- prometheus.Metric) {
	st := m.s.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(mqOffered, st.Offered)
	counter(mqRecovered, st.Recovered)
	counter(mqReturned, st.Returned)
	counter(mqPublished, st.Published)
	counter(mqConfirmed, st.Confirmed)
	counter(mqNacked, st.Nacked)
	counter(mqRepublished, st.Republished)
	counter(mqReconnects, st.Reconnects)
	for reason, n := range st.DroppedBy {
		counter(mqDropped, n, reason)
	}
	connected := 0.0
	if st.Connected {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(mqOutbox, prometheus.GaugeValue, float64(st.OutboxDepth))
	ch <- prometheus.MustNewConstMetric(mqInFlight, prometheus.GaugeValue, float64(st.InFlight))
	ch <- prometheus.MustNewConstMetric(mqConnected, prometheus.GaugeValue, connected)
}
