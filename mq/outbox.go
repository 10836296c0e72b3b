package mq

import (
	"errors"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// OutboxPolicy says which message goes when the outbox is full.
type OutboxPolicy int

const (
	// DropOldest throws away the oldest waiting message to make room: the
	// newest detections win. The default.
	DropOldest OutboxPolicy = iota
	// DropNewest refuses the message being added: what waits keeps its place.
	DropNewest
)

func (p OutboxPolicy) String() string {
	if p == DropNewest {
		return "drop-newest"
	}
	return "drop-oldest"
}

// MarshalText writes the policy's name.
func (p OutboxPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a policy as ParseOutboxPolicy does.
func (p *OutboxPolicy) UnmarshalText(b []byte) error {
	v, err := ParseOutboxPolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParseOutboxPolicy reads "drop-oldest" (or "") and "drop-newest".
func ParseOutboxPolicy(s string) (OutboxPolicy, error) {
	switch s {
	case "", "drop-oldest":
		return DropOldest, nil
	case "drop-newest":
		return DropNewest, nil
	}
	return DropOldest, errors.New(`outbox-policy: "` + s + `": want drop-oldest or drop-newest`)
}

// message is one message on its way to the broker.
type message struct {
	key      string
	body     []byte
	id       string
	ts       time.Time
	headers  amqp.Table
	attempts int // basic.publish calls so far
}

// outbox is a bounded double-ended queue of messages waiting to be sent.
// It is not safe for concurrent use: the Publisher guards it.
type outbox struct {
	buf      []*message
	head, n  int
	capacity int
	policy   OutboxPolicy
}

func newOutbox(capacity int, policy OutboxPolicy) *outbox {
	return &outbox{buf: make([]*message, capacity), capacity: capacity, policy: policy}
}

func (o *outbox) len() int { return o.n }

// push adds m at the back. When the outbox is full it returns the message
// the policy throws away (m itself under DropNewest), else nil.
func (o *outbox) push(m *message) (dropped *message) {
	if o.n == o.capacity {
		if o.policy == DropNewest {
			return m
		}
		dropped = o.popFront()
	}
	o.buf[(o.head+o.n)%o.capacity] = m
	o.n++
	return dropped
}

// pushFront puts m back at the front (a message to send again). When the
// outbox is full it returns the message the policy throws away: the oldest
// (m itself) under DropOldest, the newest under DropNewest.
func (o *outbox) pushFront(m *message) (dropped *message) {
	if o.n == o.capacity {
		if o.policy == DropOldest {
			return m
		}
		dropped = o.popBack()
	}
	o.head = (o.head - 1 + o.capacity) % o.capacity
	o.buf[o.head] = m
	o.n++
	return dropped
}

func (o *outbox) popFront() *message {
	if o.n == 0 {
		return nil
	}
	m := o.buf[o.head]
	o.buf[o.head] = nil
	o.head = (o.head + 1) % o.capacity
	o.n--
	return m
}

func (o *outbox) popBack() *message {
	if o.n == 0 {
		return nil
	}
	i := (o.head + o.n - 1) % o.capacity
	m := o.buf[i]
	o.buf[i] = nil
	o.n--
	return m
}
