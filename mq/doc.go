// Package mq publishes conveyor's frame events to RabbitMQ (AMQP 0-9-1, on
// github.com/rabbitmq/amqp091-go) without ever losing one silently, and
// reads them back.
//
// Publisher sends persistent messages in publisher-confirm mode (deferred
// confirmations, at most MaxInFlight outstanding). While the broker is slow
// or away, messages wait in a bounded outbox (OutboxSize, OutboxPolicy
// drop-oldest or drop-newest); the publisher reconnects with exponential
// back-off and publishes again whatever was not confirmed, so delivery is
// at-least-once: a republished message may reach the queue twice, with the
// same message-id, and is counted in Stats.Republished. Every message is,
// in the end, confirmed, dropped (counted by reason) or, after Close ran out
// of time, unconfirmed; Stats says how many of each.
//
// Sink adapts a Publisher to pipeline.Sink: one JSON message per frame
// (meta.Message, schema "conveyor.frame/v1", docs/MESSAGES.md). Consume
// is the receiving side: bind a queue, hand each body to a Handler, ack.
//
// Reconnection is our own loop (after amqp091-go's _examples/client), not
// the library's Config.Recovery (present since v1.12): that gives up after
// MaxRetryCount tries, does not cover the first dial, and reopens channels
// behind our back, while a fresh connection per session keeps the
// per-message accounting exact: a publish is either confirmed on the channel
// it went out on, or published again.
//
// Threading: Publish, Stats and Sink.Write may be called from any goroutine
// and never wait for the network. One goroutine per Publisher owns the
// connection and the channel; it starts in NewPublisher and ends in Close.
// Two more per connection drain the library's return and blocked
// notifications. Consume runs on the caller's goroutine.
//
// Ownership: Publish keeps the body it is given until it is confirmed or
// dropped; the caller must not change it. A Sink owns its Publisher and
// closes it. Close is idempotent and bounded by ShutdownTimeout.
//
// Errors never contain the broker password: URLs are redacted
// (RedactURL) and library messages scrubbed. Connection errors wrap
// ErrBadURL, ErrAccessRefused, ErrVhost, ErrTLS or ErrUnreachable; IsFatal
// tells those that need a configuration change from those worth a retry.
package mq
