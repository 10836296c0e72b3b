// Package mqtest starts throwaway RabbitMQ brokers for tests: Debian's
// rabbitmq-server with its own data directory, node name, ports and Erlang
// cookie, listening on 127.0.0.1 only. It can stop, kill (SIGKILL) and start
// that same node in the middle of a test (same data, same port), and close
// every client connection, to test recovery. With Options.TLS it also
// listens for amqps on a second port, with a throwaway CA and server
// certificate it makes. StartCluster starts several such nodes that share one
// Erlang cookie and joins them into one cluster (cluster.go).
//
// When CONVEYOR_TEST_AMQP_URL is set, Start uses that broker instead and
// starts nothing; Stop, Restart and CloseAllConnections then return
// ErrNotManaged. Its amqps URL and CA file then come from
// CONVEYOR_TEST_AMQPS_URL and CONVEYOR_TEST_AMQP_CA_FILE, when set.
//
// A Broker is used from one goroutine (the test's). Close stops the node and
// removes its directory; the caller calls it once, at the end.
//
// The nodes run with the Erlang schedulers' busy-waiting off (+sbwt none):
// the test machines have two shared cores, and three idle nodes spinning on
// them would slow everything else down.
package mqtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// EnvURL names the variable that points the tests at an existing broker;
// EnvTLSURL and EnvCAFile give that broker's amqps URL and the PEM file of
// the CA that signs its certificate.
const (
	EnvURL    = "CONVEYOR_TEST_AMQP_URL"
	EnvTLSURL = "CONVEYOR_TEST_AMQPS_URL"
	EnvCAFile = "CONVEYOR_TEST_AMQP_CA_FILE"
)

// ErrNotManaged is returned by the node controls when the broker was not
// started by this package.
var ErrNotManaged = errors.New("mqtest: broker not started by the test (" + EnvURL + " is set)")

// Where Debian's rabbitmq-server package puts the scripts that run as the
// calling user (the /usr/sbin ones switch to the rabbitmq user).
const (
	DefaultServer = "/usr/lib/rabbitmq/bin/rabbitmq-server"
	DefaultCtl    = "/usr/lib/rabbitmq/bin/rabbitmqctl"
)

// Options configure Start. The zero value is fine.
type Options struct {
	// MaxMessageSize is the broker's max_message_size in bytes; 0 leaves
	// RabbitMQ's default.
	MaxMessageSize int
	// TLS adds an amqps listener on another free port of 127.0.0.1, with a
	// certificate for 127.0.0.1 and localhost signed by a throwaway CA
	// (TLSURL, CAFile). Clients are not asked for a certificate.
	TLS bool
	// StartTimeout bounds the wait for the broker to accept AMQP
	// connections (and amqps ones, with TLS); 0 means 90 s.
	StartTimeout time.Duration
	// Server and Ctl are the scripts; "" means DefaultServer and DefaultCtl.
	Server, Ctl string
	// Plugins are enabled at start (for example "rabbitmq_shovel"); none by
	// default.
	Plugins []string
}

// Broker is a running broker.
type Broker struct {
	url      string
	tlsURL   string
	caFile   string
	tlsConf  *tls.Config // trusts the CA; for the readiness check
	managed  bool
	opts     Options
	name     string // short name for messages: "node 2"
	dir      string
	node     string
	port     int
	env      []string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *bytes.Buffer
	lastWait error
}

// Start starts a broker, or uses the one CONVEYOR_TEST_AMQP_URL names, and
// waits until it accepts AMQP connections.
func Start(opts Options) (*Broker, error) {
	if u := os.Getenv(EnvURL); u != "" {
		b := &Broker{url: u}
		if opts.TLS {
			b.tlsURL, b.caFile = os.Getenv(EnvTLSURL), os.Getenv(EnvCAFile)
		}
		return b, nil
	}
	b, err := newNode(opts, "")
	if err != nil {
		return nil, err
	}
	if err := b.Restart(); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// newNode prepares a node's directory, ports and environment; it does not
// start it. cookie is the Erlang cookie ("" lets Erlang make one).
func newNode(opts Options, cookie string) (*Broker, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 90 * time.Second
	}
	if opts.Server == "" {
		opts.Server = DefaultServer
	}
	if opts.Ctl == "" {
		opts.Ctl = DefaultCtl
	}
	if _, err := os.Stat(opts.Server); err != nil {
		return nil, fmt.Errorf("mqtest: rabbitmq-server not found (apt-get install rabbitmq-server, or set %s): %w", EnvURL, err)
	}
	dir, err := os.MkdirTemp("", "conveyor-rabbitmq-")
	if err != nil {
		return nil, fmt.Errorf("mqtest: %w", err)
	}
	ports, err := freePorts(3) // amqp, Erlang distribution, amqps
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	b := &Broker{
		managed: true,
		opts:    opts,
		dir:     dir,
		node:    fmt.Sprintf("conveyor-test-%d-%d@localhost", os.Getpid(), ports[0]),
		port:    ports[0],
		url:     fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", ports[0]),
	}
	b.name = b.node
	conf := fmt.Sprintf("listeners.tcp.default = 127.0.0.1:%d\nloopback_users = none\n", b.port)
	if opts.MaxMessageSize > 0 {
		conf += fmt.Sprintf("max_message_size = %d\n", opts.MaxMessageSize)
	}
	if opts.TLS {
		f, err := writeTLSFiles(dir)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		b.caFile = f.ca
		b.tlsURL = fmt.Sprintf("amqps://guest:guest@127.0.0.1:%d/", ports[2])
		b.tlsConf = &tls.Config{RootCAs: f.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		conf += fmt.Sprintf("listeners.ssl.default = 127.0.0.1:%d\n"+
			"ssl_options.cacertfile = %s\nssl_options.certfile = %s\nssl_options.keyfile = %s\n"+
			"ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n",
			ports[2], f.ca, f.cert, f.key)
	}
	plugins := "[" + strings.Join(opts.Plugins, ",") + "].\n"
	files := map[string]string{
		"rabbitmq.conf":     conf,
		"enabled_plugins":   plugins,
		"rabbitmq-env.conf": "",
	}
	if cookie != "" {
		// rabbitmq-server and rabbitmqctl both read $HOME/.erlang.cookie;
		// Erlang refuses a cookie file others can read.
		files[".erlang.cookie"] = cookie
	}
	for name, text := range files {
		mode := os.FileMode(0o600)
		if name == ".erlang.cookie" {
			mode = 0o400
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), mode); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("mqtest: %w", err)
		}
	}
	b.env = append(os.Environ(),
		"HOME="+dir, // the Erlang cookie lives here, shared by server and rabbitmqctl
		"RABBITMQ_NODENAME="+b.node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(b.port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(ports[1]),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "rabbitmq.pid"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(dir, "rabbitmq-env.conf"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none",
		"ERL_EPMD_ADDRESS=127.0.0.1",
	)
	return b, nil
}

// URL is the broker's AMQP URL (guest:guest on vhost "/" when managed).
func (b *Broker) URL() string { return b.url }

// TLSURL is the broker's amqps URL (guest:guest on vhost "/" when managed),
// "" without Options.TLS (or, for a broker not started here, without
// CONVEYOR_TEST_AMQPS_URL). Its certificate is for 127.0.0.1 and localhost.
func (b *Broker) TLSURL() string { return b.tlsURL }

// CAFile is the PEM file of the CA that signs the broker's certificate, ""
// when TLSURL is. It lives in the broker's directory: gone after Close.
func (b *Broker) CAFile() string { return b.caFile }

// Managed reports whether this package started the broker (and so can stop,
// restart and disconnect it).
func (b *Broker) Managed() bool { return b.managed }

// Port is the AMQP port (0 when not managed).
func (b *Broker) Port() int { return b.port }

// Node is the Erlang node name, rabbit@… ("" when not managed).
func (b *Broker) Node() string { return b.node }

// Running reports whether the node's process is running (false after Stop
// or Kill, and when not managed).
func (b *Broker) Running() bool { return b.cmd != nil }

// Restart starts the node (again, after Stop or Kill), on the same data directory
// and ports, and waits until it accepts AMQP connections (and, with TLS, a
// TLS handshake followed by an AMQP one on the amqps port).
func (b *Broker) Restart() error {
	if !b.managed {
		return ErrNotManaged
	}
	if b.cmd != nil {
		return errors.New("mqtest: broker already running")
	}
	cmd := exec.Command(b.opts.Server)
	cmd.Env = b.env
	cmd.Dir = b.dir
	b.log = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = b.log, b.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mqtest: start %s: %w", b.opts.Server, err)
	}
	b.cmd = cmd
	b.exited = make(chan struct{})
	go func(exited chan struct{}) {
		b.lastWait = cmd.Wait()
		close(exited)
	}(b.exited)
	return b.waitReady()
}

// waitReady waits until the node accepts connections, it exits, or
// StartTimeout passes (then it stops the node).
func (b *Broker) waitReady() error {
	deadline := time.Now().Add(b.opts.StartTimeout)
	for {
		err := b.ready()
		if err == nil {
			return nil
		}
		select {
		case <-b.exited:
			b.cmd = nil
			return fmt.Errorf("mqtest: rabbitmq-server %s exited during start (%v): %s", b.name, b.lastWait, tail(b.log.String()))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = b.Stop()
			return fmt.Errorf("mqtest: broker %s did not accept connections within %s: %v", b.name, b.opts.StartTimeout, err)
		}
	}
}

// ready dials the AMQP listener, and the amqps one with TLS, once each.
func (b *Broker) ready() error {
	conn, err := amqp.DialConfig(b.url, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		return err
	}
	_ = conn.Close()
	if b.tlsConf == nil {
		return nil
	}
	conn, err = amqp.DialConfig(b.tlsURL, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second), TLSClientConfig: b.tlsConf})
	if err != nil {
		return fmt.Errorf("amqps: %w", err)
	}
	return conn.Close()
}

// Stop stops the node (rabbitmqctl stop; a signal if that fails) and waits
// for it to exit, at most 60 s. The data directory stays for Restart.
func (b *Broker) Stop() error {
	if !b.managed {
		return ErrNotManaged
	}
	if b.cmd == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, ctlErr := b.Ctl(ctx, "stop")
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	if ctlErr != nil {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
	}
	select {
	case <-b.exited:
	case <-t.C:
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-b.exited:
		case <-time.After(30 * time.Second):
			return errors.New("mqtest: broker did not exit after SIGKILL")
		}
	}
	// Erlang helpers (erl_child_setup, inet_gethost) are in the group.
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	b.cmd = nil
	return nil
}

// Kill ends the node at once with SIGKILL, as a crash or a power cut would
// (no AMQP close, no Raft hand-over), and waits for it to exit, at most 30 s.
// The data directory stays for Restart.
func (b *Broker) Kill() error {
	if !b.managed {
		return ErrNotManaged
	}
	if b.cmd == nil {
		return nil
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-b.exited:
	case <-time.After(30 * time.Second):
		return errors.New("mqtest: broker did not exit after SIGKILL")
	}
	b.cmd = nil
	return nil
}

// CloseAllConnections makes the broker close every client connection (the
// broker stays up).
func (b *Broker) CloseAllConnections() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := b.Ctl(ctx, "close_all_connections", "closed by test")
	return err
}

// Ctl runs rabbitmqctl against the node and returns its output.
func (b *Broker) Ctl(ctx context.Context, args ...string) (string, error) {
	if !b.managed {
		return "", ErrNotManaged
	}
	cmd := exec.CommandContext(ctx, b.opts.Ctl, append([]string{"-n", b.node}, args...)...)
	cmd.Env = b.env
	cmd.Dir = b.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("mqtest: rabbitmqctl %s: %w: %s", strings.Join(args, " "), err, tail(string(out)))
	}
	return string(out), nil
}

// Close stops the node and removes its directory. Safe to call twice.
func (b *Broker) Close() error {
	if !b.managed {
		return nil
	}
	err := b.Stop()
	if b.dir != "" {
		if rerr := os.RemoveAll(b.dir); rerr != nil && err == nil {
			err = rerr
		}
		b.dir = ""
	}
	return err
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("mqtest: find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return strings.TrimSpace(s)
}
