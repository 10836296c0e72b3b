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
	body     []byte // nil while the message lives only in the disk outbox
	id       string
	ts       time.Time
	headers  amqp.Table
	attempts int    // basic.publish calls so far
	seq      uint64 // its record in the disk outbox; 0 for a memory outbox
	size     int64  // what it counts against OutboxBytes
}

// bodyLen is the length of the body, also while it is on disk only.
func (m *message) bodyLen() int64 { return m.size - int64(len(m.key)+len(m.id)) }

// messageSize is what a message counts against OutboxBytes.
func messageSize(m *message, bodyLen int) int64 {
	return int64(bodyLen + len(m.key) + len(m.id))
}

// outbox is a double-ended queue of the messages waiting to be sent,
// bounded by a count and by bytes (0: no bound). It is not safe for
// concurrent use: the Publisher guards it.
type outbox struct {
	buf      []*message
	head, n  int
	bytes    int64
	maxCount int
	maxBytes int64
	policy   OutboxPolicy
}

func newOutbox(maxCount int, maxBytes int64, policy OutboxPolicy) *outbox {
	c := 16
	if maxCount > 0 && maxCount < c {
		c = maxCount
	}
	return &outbox{buf: make([]*message, c), maxCount: maxCount, maxBytes: maxBytes, policy: policy}
}

func (o *outbox) len() int { return o.n }

// fits says whether m fits next to what waits now.
func (o *outbox) fits(m *message) bool {
	return (o.maxCount <= 0 || o.n < o.maxCount) && (o.maxBytes <= 0 || o.bytes+m.size <= o.maxBytes)
}

// tooBig says whether m could never fit, even in an empty outbox.
func (o *outbox) tooBig(m *message) bool { return o.maxBytes > 0 && m.size > o.maxBytes }

// push adds m at the back. When the outbox is full it returns the messages
// the policy throws away: the oldest ones under DropOldest, m itself under
// DropNewest (and under both when m alone is larger than the bound).
func (o *outbox) push(m *message) (dropped []*message) {
	if o.tooBig(m) {
		return []*message{m}
	}
	for !o.fits(m) {
		if o.policy == DropNewest {
			return []*message{m}
		}
		dropped = append(dropped, o.popFront())
	}
	o.grow()
	o.buf[(o.head+o.n)%len(o.buf)] = m
	o.n++
	o.bytes += m.size
	return dropped
}

// pushFront puts m back at the front (a message to send again). When the
// outbox is full it returns the messages the policy throws away: m itself,
// the oldest, under DropOldest; the newest ones under DropNewest.
func (o *outbox) pushFront(m *message) (dropped []*message) {
	if o.tooBig(m) {
		return []*message{m}
	}
	for !o.fits(m) {
		if o.policy == DropOldest {
			return append(dropped, m)
		}
		dropped = append(dropped, o.popBack())
	}
	o.grow()
	o.head = (o.head - 1 + len(o.buf)) % len(o.buf)
	o.buf[o.head] = m
	o.n++
	o.bytes += m.size
	return dropped
}

// grow makes room for one more message.
func (o *outbox) grow() {
	if o.n < len(o.buf) {
		return
	}
	nb := make([]*message, 2*len(o.buf))
	for i := range o.n {
		nb[i] = o.buf[(o.head+i)%len(o.buf)]
	}
	o.buf, o.head = nb, 0
}

func (o *outbox) popFront() *message {
	if o.n == 0 {
		return nil
	}
	m := o.buf[o.head]
	o.buf[o.head] = nil
	o.head = (o.head + 1) % len(o.buf)
	o.n--
	o.bytes -= m.size
	return m
}

func (o *outbox) popBack() *message {
	if o.n == 0 {
		return nil
	}
	i := (o.head + o.n - 1) % len(o.buf)
	m := o.buf[i]
	o.buf[i] = nil
	o.n--
	o.bytes -= m.size
	return m
}
