package mq

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Endpoint says how to reach the broker: one node, or the nodes of one
// cluster. Publisher and Consume share it.
type Endpoint struct {
	// URLs are the nodes of one RabbitMQ cluster (or a single broker), each
	// amqp://user:pass@host:port/vhost or amqps://…; an element may hold
	// several, separated by commas. Percent-encode special characters in the
	// user name and password. Which node is tried first is NodeOrder's
	// choice; after a failure the next one in the list is tried.
	URLs URLs `yaml:"amqp" usage:"RabbitMQ nodes of one cluster: amqp[s]://user:pass@host:5672/vhost, comma-separated or repeated; env reads CONVEYOR_AMQP_URL"`
	// NodeOrder says which node is tried first: a random one (the default,
	// so that many devices spread over the cluster) or the first listed.
	NodeOrder NodeOrder `yaml:"amqp-node-order" usage:"which node of --amqp to try first: random (spreads many devices over the cluster) or listed; then the next in the list"`
	// CAFile is a PEM file of CA certificates that sign the broker's
	// certificate (amqps only); empty means the system pool.
	CAFile string `yaml:"amqp-ca" usage:"PEM CA file for amqps://"`
	// CertFile and KeyFile are a PEM client certificate and key for mutual
	// TLS (amqps only); both or neither.
	CertFile, KeyFile string `yaml:"-"`
	// DialTimeout bounds one TCP connect plus the AMQP handshake; 0 means 5 s.
	DialTimeout time.Duration `yaml:"-"`
	// Heartbeat is the AMQP heartbeat interval; 0 means 10 s.
	Heartbeat time.Duration `yaml:"-"`
	// ConnectionName is shown by the broker's management UI; "" means
	// "conveyor" (the publisher) or "conveyor consume".
	ConnectionName string `yaml:"-"`
}

// URLs is a list of broker URLs. In YAML it is a string (commas separate
// nodes) or a list of strings.
type URLs []string

// UnmarshalYAML reads a string or a list of strings.
func (u *URLs) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*u = nil
		if one != "" {
			*u = URLs{one}
		}
		return nil
	}
	var list []string
	if err := unmarshal(&list); err != nil {
		return errors.New("want a URL, or a list of URLs")
	}
	*u = list
	return nil
}

// Split returns the URLs one per element: each element split at commas,
// spaces trimmed, empty ones dropped.
func (u URLs) Split() URLs {
	var out URLs
	for _, e := range u {
		for _, s := range strings.Split(e, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// String is the URLs, redacted, separated by commas.
func (u URLs) String() string {
	var parts []string
	for _, s := range u.Split() {
		parts = append(parts, RedactURL(s))
	}
	return strings.Join(parts, ",")
}

// NodeOrder says which node of a cluster is tried first.
type NodeOrder int

const (
	// RandomNode starts at a random node, then goes round the list: many
	// publishers spread over the cluster's nodes. The default.
	RandomNode NodeOrder = iota
	// ListedNode starts at the first node listed, then goes round the list.
	ListedNode
)

func (o NodeOrder) String() string {
	if o == ListedNode {
		return "listed"
	}
	return "random"
}

// MarshalText writes the order's name.
func (o NodeOrder) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads random (or "") and listed.
func (o *NodeOrder) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "random":
		*o = RandomNode
	case "listed":
		*o = ListedNode
	default:
		return fmt.Errorf("%q: want random or listed", b)
	}
	return nil
}

// node is one resolved broker URL: the URL with its secret, its redacted
// form for messages, and the amqp091 configuration.
type node struct {
	url      string
	redacted string
	secret   string
	config   amqp.Config
}

// nodes resolves every URL of e. name is the connection name when
// e.ConnectionName is empty.
func (e Endpoint) nodes(name string) ([]*node, error) {
	urls := e.URLs.Split()
	if len(urls) == 0 {
		return nil, fmt.Errorf("mq: no broker URL: %w", ErrBadURL)
	}
	if e.ConnectionName != "" {
		name = e.ConnectionName
	}
	var out []*node
	for _, u := range urls {
		n, err := e.resolve(u, name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (e Endpoint) resolve(raw, name string) (*node, error) {
	n := &node{url: raw, redacted: RedactURL(raw), secret: urlSecret(raw)}
	// url.Parse's error quotes the URL, and its reason may quote a piece of
	// the password ("invalid port \":Secr\""): say only what to do. A
	// password with a "/" may even parse, as a host and a path, and the
	// broker would be looked for at the user name.
	if u, err := url.Parse(raw); err != nil || (u.User == nil && n.secret != "") {
		return nil, fmt.Errorf("mq: broker URL %s does not parse (percent-encode special characters such as # / ? @ %% in the user name and password): %w", n.redacted, ErrBadURL)
	}
	uri, err := amqp.ParseURI(raw)
	if err != nil {
		return nil, fmt.Errorf("mq: broker URL %s: %s: %w", n.redacted, n.scrub(err.Error()), ErrBadURL)
	}
	dialTimeout := e.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = 5 * time.Second
	}
	heartbeat := e.Heartbeat
	if heartbeat <= 0 {
		heartbeat = 10 * time.Second
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	n.config = amqp.Config{
		Heartbeat:  heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial:       amqp.DefaultDial(dialTimeout),
	}
	if uri.Scheme == "amqps" {
		tc, err := e.tlsConfig(uri.Host)
		if err != nil {
			return nil, err
		}
		n.config.TLSClientConfig = tc
	} else if e.CAFile != "" || e.CertFile != "" {
		return nil, fmt.Errorf("mq: a CA or client certificate needs an amqps:// URL, not %s: %w", n.redacted, ErrBadURL)
	}
	return n, nil
}

func (e Endpoint) tlsConfig(host string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mq: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mq: CA file %s holds no PEM certificate", e.CAFile)
		}
		tc.RootCAs = pool
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		return nil, errors.New("mq: a client certificate needs both a cert file and a key file")
	}
	if e.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mq: load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// scrub removes the password from a message, in case a library quoted the URL.
func (n *node) scrub(s string) string {
	return scrubSecret(s, n.secret)
}

// dial opens one connection. The error is classified and redacted.
func (n *node) dial() (conn *amqp.Connection, fatal bool, err error) {
	conn, err = amqp.DialConfig(n.url, n.config)
	if err != nil {
		err, fatal = n.classify(err)
		return nil, fatal, err
	}
	return conn, false, nil
}

// ring walks the nodes of a cluster: it starts at the node NodeOrder picks,
// moves to the next after each failure, and waits between rounds in which
// no node answered (the package's one back-off, backoff.go).
type ring struct {
	nodes []*node
	next  int
	tries int // failed attempts since the last success
	wait  *backoffTimer
}

func newRing(nodes []*node, order NodeOrder, minWait, maxWait time.Duration) *ring {
	r := &ring{nodes: nodes, wait: newBackoff(minWait, maxWait)}
	if order == RandomNode {
		r.next = rand.IntN(len(nodes))
	}
	return r
}

// pick returns the node to try now.
func (r *ring) pick() *node { return r.nodes[r.next%len(r.nodes)] }

// failed records that the node from pick failed (or a session on it ended)
// and returns how long to wait before trying the next one: nothing while
// some node of this round is untried, a growing delay after a whole round.
func (r *ring) failed() time.Duration {
	r.next = (r.next + 1) % len(r.nodes)
	r.tries++
	if r.tries%len(r.nodes) != 0 {
		return 0
	}
	return r.wait.next()
}

// lost records that a session that had been working on the node from pick
// ended: the next attempt goes to the next node at once, and a round of
// failures starts afresh. (A session that ends as soon as it began is a
// failure: failed.)
func (r *ring) lost() {
	r.next = (r.next + 1) % len(r.nodes)
	r.tries = 0
	r.wait.reset()
}
