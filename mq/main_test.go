package mq

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conveyor-vision/conveyor/mq/mqtest"
)

// testMaxMessageSize is the broker's max_message_size in the tests.
const testMaxMessageSize = 128 << 10

var broker *mqtest.Broker

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "publish" {
		os.Exit(publishHelper())
	}
	code := func() int {
		b, err := mqtest.Start(mqtest.Options{MaxMessageSize: testMaxMessageSize, TLS: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, "mq tests need a RabbitMQ broker:", err)
			return 1
		}
		broker = b
		code := m.Run()
		if err := closeCluster(); err != nil {
			fmt.Fprintln(os.Stderr, "stop cluster:", err)
			code = 1
		}
		if err := b.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop broker:", err)
			code = 1
		}
		return code
	}()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// adminConn opens a plain connection for the test's own declarations and
// reads; it is closed at the end of the test.
func adminChannel(t testing.TB) *amqp.Channel {
	t.Helper()
	conn, err := amqp.DialConfig(broker.URL(), amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	require.NoError(t, err)
	ch, err := conn.Channel()
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return ch
}

// bindQueue declares exchange (topic, durable) and a durable queue bound to
// it with key, empty. It deletes both at the end of the test.
func bindQueue(t *testing.T, exchange, queue, key string) {
	t.Helper()
	ch := adminChannel(t)
	require.NoError(t, ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil))
	_, err := ch.QueueDeclare(queue, true, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.QueuePurge(queue, false)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind(queue, key, exchange, false, nil))
	t.Cleanup(func() {
		conn, err := amqp.Dial(broker.URL())
		if err != nil {
			return
		}
		defer conn.Close()
		c, err := conn.Channel()
		if err != nil {
			return
		}
		_, _ = c.QueueDelete(queue, false, false, false)
		_ = c.ExchangeDelete(exchange, false, false)
	})
}

// drain reads and acks every message in queue.
func drain(t *testing.T, queue string) []amqp.Delivery {
	t.Helper()
	ch := adminChannel(t)
	var out []amqp.Delivery
	for {
		d, ok, err := ch.Get(queue, false)
		require.NoError(t, err)
		if !ok {
			return out
		}
		require.NoError(t, d.Ack(false))
		out = append(out, d)
	}
}

// queueDepth is the number of ready messages in queue.
func queueDepth(t *testing.T, queue string) int {
	t.Helper()
	q, err := adminChannel(t).QueueDeclarePassive(queue, true, false, false, false, nil)
	require.NoError(t, err)
	return q.Messages
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	require.NoError(t, poll(d, what, cond))
}

// poll is waitFor for goroutines other than the test's.
func poll(d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// messageSchema compiles docs/message.schema.json, with format assertions.
func messageSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		schema, schemaErr = c.Compile("../docs/message.schema.json")
	})
	require.NoError(t, schemaErr)
	return schema
}

func validate(t *testing.T, body []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	require.NoError(t, err)
	return messageSchema(t).Validate(inst)
}

// proxy forwards TCP connections to the broker and can cut them all, the
// way a dead network or a crashed NAT does: no AMQP close, the socket just
// goes away.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	return listenProxy(t, "127.0.0.1:0", target)
}

// listenProxy is newProxy on a given address.
func listenProxy(t *testing.T, addr, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// cut closes every proxied connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// logLines collects what a Publisher or Consume logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// count is the number of lines that contain substr.
func (l *logLines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
