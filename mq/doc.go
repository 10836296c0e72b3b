// Package mq publishes conveyor's messages to RabbitMQ (AMQP 0-9-1, on
// github.com/rabbitmq/amqp091-go) without ever losing one silently, and
// reads them back. It is pure Go (no cgo), so it builds and tests with
// CGO_ENABLED=0; only the line-facing test (sink_test.go) needs cgo.
//
// Files, by job: endpoint.go (broker URLs, the nodes of a cluster, the
// order they are tried in), redact.go (passwords out of every message),
// errors.go (sentinels and their classification), backoff.go (the one
// back-off every reconnect loop uses), config.go (the publisher's options),
// publisher.go (Publish, Close and the outbox around them), session.go (a
// connection and its channel; reconnecting), confirms.go (publishing and
// settling confirms), stats.go (the counters), outbox.go (the queue of
// waiting messages), store.go and record.go (the on-disk outbox),
// consume.go, queuetype.go and dedupe.go (the receiving side), messages.go
// (conveyor's message format and routing keys), size.go (ByteSize).
//
// Publisher sends persistent messages in publisher-confirm mode (deferred
// confirmations, at most MaxInFlight outstanding) to one node of a cluster:
// Config.URLs lists the nodes, the first tried is random (or the first
// listed) and after a failure the next one is. While the broker is slow or
// away, messages wait in a bounded outbox (OutboxSize messages and
// OutboxBytes bytes, OutboxPolicy drop-oldest or drop-newest); with
// OutboxDir the outbox is a log on disk (store.go) that survives a restart,
// a crash and, with OutboxFsync 0, a power cut, and the next publisher on
// the same directory sends what it holds. The publisher reconnects with
// back-off and publishes again whatever was not confirmed, so delivery is
// at-least-once: a republished message may reach the queue twice, with the
// same message-id, and is counted in Stats.Republished. Every message is,
// in the end, confirmed or dropped (counted by reason, also what Close had
// to give up), or kept in the disk outbox; Stats says how many of each.
// The loss of a connection and its return are told to Config.Logf once
// each.
//
// Publisher.WriteMessage makes a Publisher the writer behind the line's
// message sink (pipeline/sink.Messages): one JSON message per frame
// (meta.Message, schema "conveyor.frame/v1", docs/MESSAGES.md). Consume is
// the receiving side: declare a classic, quorum or stream queue, bind it,
// hand each body to a Handler, ack after it; it reconnects to any node and
// resumes after a node or broker restart. A Deduper recognises messages
// delivered twice by their ids. docs/SCALING.md describes the topologies.
//
// Reconnection is our own loop (after amqp091-go's _examples/client), not
// the library's Config.Recovery (present since v1.12): that gives up after
// MaxRetryCount tries, does not cover the first dial or another node, and
// reopens channels behind our back, while a fresh connection per session
// keeps the per-message accounting exact: a publish is either confirmed on
// the channel it went out on, or published again.
//
// Threading: Publish, Stats and WriteMessage may be called from any
// goroutine and never wait for the network (with an on-disk outbox Publish
// writes the message, and with OutboxFsync 0 waits for the disk). One
// goroutine per Publisher owns the connection and the channel; it starts in
// NewPublisher and ends in Close. Two more per connection drain the
// library's return and blocked notifications, and the disk outbox has a
// syncer with OutboxFsync > 0. Consume runs on the caller's goroutine.
//
// Ownership: Publish keeps the body it is given until it is confirmed or
// dropped (with a disk outbox, until it is written); the caller must not
// change it. Close is idempotent and bounded by ShutdownTimeout; it closes
// the disk outbox and releases its directory.
//
// Errors never contain the broker password: URLs are redacted (RedactURL,
// whether or not they parse) and library messages scrubbed. Connection
// errors wrap ErrBadURL, ErrAccessRefused, ErrVhost, ErrTLS or
// ErrUnreachable; IsFatal tells those that need a configuration change
// from those worth a retry.
package mq
