package mq

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Endpoint says how to reach the broker. Publisher and Consume share it.
type Endpoint struct {
	// URL is amqp://user:pass@host:port/vhost or amqps://…. Percent-encode
	// special characters in the user name and password.
	URL string `yaml:"amqp" usage:"RabbitMQ broker: amqp[s]://user:pass@host:5672/vhost, or env to read CONVEYOR_AMQP_URL"`
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
	// ConnectionName is shown by the broker's management UI; 0 means "conveyor".
	ConnectionName string `yaml:"-"`
}

// endpoint is a resolved Endpoint: the URL with its secret, its redacted
// form for messages, and the amqp091 configuration.
type endpoint struct {
	url      string
	redacted string
	secret   string
	config   amqp.Config
}

func (e Endpoint) resolve() (*endpoint, error) {
	raw := e.URL
	if raw == "" {
		return nil, fmt.Errorf("mq: no broker URL: %w", ErrBadURL)
	}
	ep := &endpoint{url: raw, redacted: RedactURL(raw)}
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		ep.secret, _ = u.User.Password()
	} else if err != nil {
		// url.Parse's error quotes the whole URL: keep only its reason.
		reason := "cannot parse"
		var ue *url.Error
		if errors.As(err, &ue) {
			reason = ep.scrub(ue.Err.Error())
		}
		return nil, fmt.Errorf("mq: broker URL %s: %s: %w", ep.redacted, reason, ErrBadURL)
	}
	uri, err := amqp.ParseURI(raw)
	if err != nil {
		return nil, fmt.Errorf("mq: broker URL %s: %s: %w", ep.redacted, ep.scrub(err.Error()), ErrBadURL)
	}
	dialTimeout := e.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = 5 * time.Second
	}
	heartbeat := e.Heartbeat
	if heartbeat <= 0 {
		heartbeat = 10 * time.Second
	}
	name := e.ConnectionName
	if name == "" {
		name = "conveyor"
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	ep.config = amqp.Config{
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
		ep.config.TLSClientConfig = tc
	} else if e.CAFile != "" || e.CertFile != "" {
		return nil, fmt.Errorf("mq: a CA or client certificate needs an amqps:// URL, not %s: %w", ep.redacted, ErrBadURL)
	}
	return ep, nil
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
func (ep *endpoint) scrub(s string) string {
	if ep.secret != "" {
		s = strings.ReplaceAll(s, ep.secret, "xxxxx")
		if esc := url.PathEscape(ep.secret); esc != ep.secret {
			s = strings.ReplaceAll(s, esc, "xxxxx")
		}
	}
	return s
}

// RedactURL returns u with its password replaced by "xxxxx", fit for
// messages and logs, whether or not the URL parses (meta.RedactURI).
func RedactURL(u string) string { return meta.RedactURI(u) }

// Sentinel errors; test with errors.Is.
var (
	// ErrBadURL: the broker URL is missing or malformed.
	ErrBadURL = errors.New("bad broker URL")
	// ErrAccessRefused: the broker refused the user name or password
	// (ACCESS_REFUSED). Retrying does not help.
	ErrAccessRefused = errors.New("access refused: wrong user name or password")
	// ErrVhost: the virtual host does not exist or the user may not use it.
	ErrVhost = errors.New("virtual host not found or not allowed")
	// ErrUnreachable: no broker answered within the start timeout.
	ErrUnreachable = errors.New("broker unreachable")
	// ErrTLS: the TLS handshake failed (certificate, CA, protocol).
	ErrTLS = errors.New("tls handshake failed")
	// ErrClosed: the publisher has been closed.
	ErrClosed = errors.New("mq: publisher closed")
	// ErrUnconfirmed: Close returned with messages the broker never confirmed.
	ErrUnconfirmed = errors.New("messages left unconfirmed")
)

// classify turns a dial error into one of the sentinels. fatal errors are
// not worth retrying: they need a person to change the configuration.
func (ep *endpoint) classify(err error) (wrapped error, fatal bool) {
	msg := ep.scrub(err.Error())
	var ae *amqp.Error
	var tlsErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &ae) && ae.Code == amqp.AccessRefused && strings.Contains(strings.ToLower(ae.Reason), "vhost"):
		return fmt.Errorf("mq: connect %s: %w (%s)", ep.redacted, ErrVhost, msg), true
	case errors.As(err, &ae) && ae.Code == amqp.AccessRefused:
		return fmt.Errorf("mq: connect %s: %w (%s)", ep.redacted, ErrAccessRefused, msg), true
	case errors.As(err, &ae) && ae.Code == amqp.NotAllowed:
		return fmt.Errorf("mq: connect %s: %w (%s)", ep.redacted, ErrVhost, msg), true
	case errors.As(err, &tlsErr), errors.As(err, &recErr):
		return fmt.Errorf("mq: connect %s: %w (%s)", ep.redacted, ErrTLS, msg), true
	case errors.As(err, &netErr), errors.Is(err, amqp.ErrClosed):
		return fmt.Errorf("mq: connect %s: %w (%s)", ep.redacted, ErrUnreachable, msg), false
	}
	return fmt.Errorf("mq: connect %s: %s", ep.redacted, msg), false
}

// dial opens one connection. The error is classified and redacted.
func (ep *endpoint) dial() (conn *amqp.Connection, fatal bool, err error) {
	conn, err = amqp.DialConfig(ep.url, ep.config)
	if err != nil {
		err, fatal = ep.classify(err)
		return nil, fatal, err
	}
	return conn, false, nil
}
