package mqtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cluster is a RabbitMQ cluster on 127.0.0.1: Nodes[i] is a node with its
// own node name, data directory, AMQP and Erlang distribution ports, all of
// them sharing one Erlang cookie, joined to Nodes[0] with `rabbitmqctl
// join_cluster`. A node can be stopped, killed and restarted (Broker's
// methods); a restarted node rejoins the cluster by itself.
//
// A cluster is always started here (CONVEYOR_TEST_AMQP_URL is not used: the
// tests that need a cluster kill its nodes). Close stops every node and
// removes their directories; the caller calls it once, at the end.
type Cluster struct {
	Nodes []*Broker
}

// StartCluster starts n nodes (in parallel), joins them into one cluster and
// waits until each accepts AMQP connections as a member. opts apply to every
// node (TLS is not supported here). About 30 s on two cores for three nodes.
func StartCluster(n int, opts Options) (*Cluster, error) {
	if n < 1 {
		return nil, errors.New("mqtest: a cluster needs at least one node")
	}
	if opts.TLS {
		return nil, errors.New("mqtest: StartCluster does not support TLS")
	}
	var cb [20]byte
	if _, err := rand.Read(cb[:]); err != nil {
		return nil, fmt.Errorf("mqtest: cookie: %w", err)
	}
	cookie := strings.ToUpper(hex.EncodeToString(cb[:]))
	c := &Cluster{}
	for i := range n {
		b, err := newNode(opts, cookie)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		b.name = fmt.Sprintf("node %d (%s)", i+1, b.node)
		c.Nodes = append(c.Nodes, b)
	}
	// Start the nodes in parallel: each takes ~10 s, mostly Erlang booting.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, b := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.Restart()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = c.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, b := range c.Nodes[1:] {
		for _, args := range [][]string{{"stop_app"}, {"join_cluster", c.Nodes[0].node}, {"start_app"}} {
			if _, err := b.Ctl(ctx, args...); err != nil {
				_ = c.Close()
				return nil, fmt.Errorf("mqtest: join %s to the cluster: %w", b.name, err)
			}
		}
		if err := b.waitReady(); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("mqtest: %s after joining: %w", b.name, err)
		}
	}
	// Every node must see every other as running before a test relies on
	// quorum queues.
	out, err := c.Nodes[0].Ctl(ctx, "await_online_nodes", fmt.Sprint(n))
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("mqtest: cluster of %d: %w: %s", n, err, tail(out))
	}
	return c, nil
}

// URLs are the nodes' AMQP URLs (guest:guest on vhost "/"), in node order.
func (c *Cluster) URLs() []string {
	var out []string
	for _, b := range c.Nodes {
		out = append(out, b.URL())
	}
	return out
}

// URL is URLs joined by commas: the form --amqp takes.
func (c *Cluster) URL() string { return strings.Join(c.URLs(), ",") }

// Running returns a node that is running, to run rabbitmqctl against; nil
// when none is.
func (c *Cluster) Running() *Broker {
	for _, b := range c.Nodes {
		if b.Running() {
			return b
		}
	}
	return nil
}

// NodeOf returns the index of the node whose AMQP port is port, or -1.
func (c *Cluster) NodeOf(port int) int {
	for i, b := range c.Nodes {
		if b.port == port {
			return i
		}
	}
	return -1
}

// Connections lists the client connections the cluster knows, asking a
// running node: for each, the connection name a client gave
// (connection_name) and the index of the node it is connected to.
func (c *Cluster) Connections(ctx context.Context) ([]Connection, error) {
	b := c.Running()
	if b == nil {
		return nil, errors.New("mqtest: no node of the cluster is running")
	}
	// port is the server's port of the connection: the node's AMQP port.
	out, err := b.Ctl(ctx, "list_connections", "--quiet", "--no-table-headers", "port", "client_properties")
	if err != nil {
		return nil, err
	}
	var conns []Connection
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		port, props, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		conn := Connection{Node: -1}
		if p, err := strconv.Atoi(strings.TrimSpace(port)); err == nil {
			conn.Node = c.NodeOf(p)
		}
		// client_properties reads [{"version","1.16.0"},…,
		// {"connection_name","NAME"},…].
		const key = `{"connection_name","`
		if i := strings.Index(props, key); i >= 0 {
			rest := props[i+len(key):]
			if j := strings.Index(rest, `"}`); j >= 0 {
				conn.Name = rest[:j]
			}
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

// Connection is one client connection: its name and its node's index.
type Connection struct {
	Name string
	Node int
}

// Close stops every node and removes their directories. Safe to call twice.
func (c *Cluster) Close() error {
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, b := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Close(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
