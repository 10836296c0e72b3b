package mq

import (
	"errors"
	"fmt"
	"time"
)

// Config configures a Publisher. The zero value of each field but Endpoint
// has a sensible default.
type Config struct {
	Endpoint `yaml:",inline"`
	// Exchange is where messages go; "" is AMQP's default exchange (routing
	// key = queue name).
	Exchange string `yaml:"exchange" usage:"topic exchange to publish to (declared if missing)"`
	// ExchangeType is used when Declare is set; "" means "topic".
	ExchangeType string `yaml:"-"`
	// Declare makes the publisher declare Exchange (durable) on every
	// connect. Without it the exchange must exist.
	Declare bool `yaml:"-"`
	// RoutingKey is the template WriteMessage routes by: {source} becomes
	// the sanitised source name (SanitizeKey), {source_id} the source's
	// index. "" means DefaultRoutingKey.
	RoutingKey string `yaml:"routing-key" usage:"routing key template: {source}, {source_id}"`

	// OutboxSize is how many messages may wait while the broker is slow or
	// away; 0 means 1000 in memory and no limit of its own on disk.
	// OutboxBytes bounds the same messages by size (bodies, keys and ids);
	// 0 means no limit in memory and 1 GiB on disk. OutboxPolicy says which
	// message goes when either is reached.
	OutboxSize   int          `yaml:"outbox" usage:"messages kept while the broker is slow or away (0 = 1000 in memory, no count limit with --outbox-dir)"`
	OutboxBytes  ByteSize     `yaml:"outbox-bytes" usage:"bytes of messages kept while the broker is slow or away, e.g. 512MiB (0 = no limit in memory, 1GiB with --outbox-dir)"`
	OutboxPolicy OutboxPolicy `yaml:"outbox-policy" usage:"when the outbox is full: drop-oldest or drop-newest"`
	// OutboxDir keeps the outbox on disk, in this directory (created if
	// missing; one publisher at a time): a message Publish accepted and the
	// broker has not confirmed survives a restart and a crash, and is sent
	// when the next publisher starts on the same directory. "" keeps it in
	// memory.
	OutboxDir string `yaml:"outbox-dir" usage:"keep the outbox on disk in this directory: unconfirmed messages survive a restart or crash and are sent on the next start"`
	// OutboxFsync is how often the on-disk outbox is flushed to the storage
	// device: 0 before Publish returns (a power cut loses nothing accepted),
	// D at most every D (a power cut may lose the last D of messages; a crash
	// of the process loses nothing either way). docs/SCALING.md gives the
	// cost per message.
	OutboxFsync time.Duration `yaml:"outbox-fsync" usage:"with --outbox-dir: fsync before accepting each message (0), or at most every D (a power cut may lose the last D of messages; a crash loses none)"`
	// MaxInFlight caps the messages published but not yet confirmed; 0
	// means 256.
	MaxInFlight int `yaml:"-"`
	// MaxAttempts is how many times one message is published before a
	// nack or a lost channel makes it count as dropped; 0 means 10. After
	// a nack publishing pauses, with the reconnect back-off (ReconnectMin
	// growing to ReconnectMax): 10 attempts span about 10 s with the
	// defaults, longer than a quorum queue takes to elect a new leader.
	MaxAttempts int `yaml:"-"`
	// MaxMessageSize is the largest body sent, in bytes; bigger ones are
	// dropped (reason "too_large"). 0 means no limit of our own; the limit
	// the broker reports when it refuses a message is learned and applied too.
	MaxMessageSize int `yaml:"-"`

	// StartTimeout is how long NewPublisher retries an unreachable broker;
	// 0 means 10 s. Wrong credentials and a missing vhost fail at once.
	StartTimeout time.Duration `yaml:"amqp-start-timeout" usage:"how long to retry an unreachable broker at start (0 = 10s)"`
	// StartOffline makes NewPublisher succeed anyway when the broker stays
	// unreachable for StartTimeout: the publisher keeps trying in the
	// background, keeps what fits in the outbox and counts the rest as
	// dropped.
	StartOffline bool `yaml:"amqp-offline" usage:"start even if the broker stays unreachable; count what cannot be kept"`
	// ReconnectMin and ReconnectMax bound the back-off between rounds of
	// reconnect attempts (backoff.go); 0 means 100 ms and 5 s.
	ReconnectMin, ReconnectMax time.Duration `yaml:"-"`
	// ShutdownTimeout bounds how long Close waits for the outbox to drain
	// and for outstanding confirms; 0 means 5 s.
	ShutdownTimeout time.Duration `yaml:"-"`
	// AppID is the AMQP app-id property; "" means "conveyor".
	AppID string `yaml:"-"`
	// Logf, if set, is told when the connection is lost and when it comes
	// back (once each per outage), with the node's redacted URL. Normal
	// operation logs nothing.
	Logf func(format string, args ...any) `yaml:"-"`

	// segmentSize is the on-disk outbox's segment size; 0 means 16 MiB.
	// Tests make it small.
	segmentSize int64
}

// DefaultConfig is what `conveyor run --amqp URL` starts from.
func DefaultConfig() Config {
	return Config{Exchange: "conveyor", RoutingKey: DefaultRoutingKey, OutboxPolicy: DropOldest}
}

// Validate checks the options a user sets, naming each by its option key.
func (c Config) Validate() error {
	var errs []error
	if c.OutboxSize < 0 || c.OutboxSize > 100_000_000 {
		errs = append(errs, fmt.Errorf("outbox: %d is out of range: want 0 to 100000000", c.OutboxSize))
	}
	if c.OutboxBytes < 0 {
		errs = append(errs, fmt.Errorf("outbox-bytes: %s: want 0 or more", c.OutboxBytes))
	}
	if c.OutboxPolicy != DropOldest && c.OutboxPolicy != DropNewest {
		errs = append(errs, fmt.Errorf("outbox-policy: %v: want drop-oldest or drop-newest", c.OutboxPolicy))
	}
	if c.OutboxFsync < 0 {
		errs = append(errs, fmt.Errorf("outbox-fsync: %s: want 0 or more", c.OutboxFsync))
	}
	if c.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("amqp-start-timeout: %s: want 0 or more", c.StartTimeout))
	}
	if err := checkTemplate(c.RoutingKey); err != nil {
		errs = append(errs, fmt.Errorf("routing-key: %w", err))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.ExchangeType == "" {
		c.ExchangeType = "topic"
	}
	if c.OutboxDir == "" {
		def(&c.OutboxSize, 1000)
	} else if c.OutboxBytes <= 0 {
		c.OutboxBytes = 1 << 30
	}
	def(&c.MaxInFlight, 256)
	def(&c.MaxAttempts, 10)
	defd(&c.StartTimeout, 10*time.Second)
	defd(&c.ReconnectMin, 100*time.Millisecond)
	defd(&c.ReconnectMax, 5*time.Second)
	defd(&c.ShutdownTimeout, 5*time.Second)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.AppID == "" {
		c.AppID = "conveyor"
	}
	if c.RoutingKey == "" {
		c.RoutingKey = DefaultRoutingKey
	}
	if c.segmentSize <= 0 {
		c.segmentSize = 16 << 20
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}
