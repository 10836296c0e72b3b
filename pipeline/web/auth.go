package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
)

// Who may do what (docs/SECURITY.md has the whole threat model):
//
//   - Every request must name this server in its Host header: its address,
//     an IP address, localhost, or a name in Options.AllowHosts (hostGuard).
//     A web page that reaches 127.0.0.1 through DNS rebinding sends its own
//     domain, and gets 421.
//   - POST and DELETE /api/sources need the token (Options.Token or
//     TokenFile) as "Authorization: Bearer TOKEN" (or as the password of
//     Basic authentication): no token configured, no source API.
//   - On an address other machines can reach, with a token configured, the
//     live streams need it too: the header, Basic authentication (what VLC
//     and ffplay send for http://any:TOKEN@host/stream/0), or the
//     conveyor_token cookie the page sets (an <img> cannot send a header).
//   - /debug/pprof exists only with Options.Pprof, and answers loopback
//     clients only.

// EnvToken is the environment variable `conveyor run` reads the token
// from (the other way is Options.TokenFile); a token is never a flag, so
// that it stays out of ps and shell histories.
const EnvToken = "CONVEYOR_HTTP_TOKEN"

// minTokenLen is the shortest token accepted: 16 characters.
const minTokenLen = 16

// tokenCookie is the cookie the page sets for the streams.
const tokenCookie = "conveyor_token"

// loadToken returns the token of o: Token, or the content of TokenFile,
// which is made with a new random token (mode 0600) when it does not
// exist. note says what it did worth telling the operator (a new file, a
// file others can read); "" if nothing.
func loadToken(o Options) (token, note string, err error) {
	if o.Token != "" || o.TokenFile == "" {
		return o.Token, "", checkToken(o.Token, "token")
	}
	data, err := os.ReadFile(o.TokenFile)
	if errors.Is(err, fs.ErrNotExist) {
		return newTokenFile(o.TokenFile)
	}
	if err != nil {
		return "", "", fmt.Errorf("http-token-file: %w", err)
	}
	token = strings.TrimSpace(string(data))
	if err := checkToken(token, "http-token-file: "+o.TokenFile); err != nil {
		return "", "", err
	}
	if st, err := os.Stat(o.TokenFile); err == nil && st.Mode().Perm()&0o077 != 0 {
		note = fmt.Sprintf("warning: http-token-file: %s can be read by other users (mode %#o): chmod 600 it", o.TokenFile, st.Mode().Perm())
	}
	return token, note, nil
}

// checkToken refuses a token that is too short to resist guessing or that
// cannot travel in a header.
func checkToken(token, what string) error {
	if token == "" {
		return nil
	}
	if len(token) < minTokenLen {
		return fmt.Errorf("%s: the token is %d characters long: want %d or more (a new file gets a random one)", what, len(token), minTokenLen)
	}
	for _, r := range token {
		if r <= ' ' || r == 0x7f || r > '~' {
			return fmt.Errorf("%s: the token must be printable ASCII without spaces", what)
		}
	}
	return nil
}

// newTokenFile writes a new random token (256 bits, hex) to path, which
// must not exist, readable by its owner only.
func newTokenFile(path string) (token, note string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("http-token-file: %w", err)
	}
	token = hex.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("http-token-file: %w", err)
	}
	_, err = f.WriteString(token + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", "", fmt.Errorf("http-token-file: %w", err)
	}
	return token, fmt.Sprintf("http: a new token is in %s", path), nil
}

// presented is the token a request carries: the Bearer token, the Basic
// password, or (cookie true: the streams) the page's cookie.
func presented(r *http.Request, cookie bool) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if t, ok := strings.CutPrefix(a, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		if _, pw, ok := r.BasicAuth(); ok {
			return pw
		}
		return ""
	}
	if cookie {
		if c, err := r.Cookie(tokenCookie); err == nil {
			return c.Value
		}
	}
	return ""
}

// tokenOK compares in constant time (over hashes, so that the length does
// not leak either).
func (s *Server) tokenOK(got string) bool {
	if s.token == "" || got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// authorize answers 401 (and returns false) unless the request carries the
// token. cookie: the page's cookie counts (the streams, never a change).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, cookie bool) bool {
	got := presented(r, cookie)
	if s.tokenOK(got) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="conveyor", Basic realm="conveyor"`)
	if got == "" {
		writeError(w, http.StatusUnauthorized, "a token is needed: send Authorization: Bearer TOKEN (the token of --http-token-file or %s)", EnvToken)
	} else {
		writeError(w, http.StatusUnauthorized, "wrong token")
	}
	return false
}

// hostGuard refuses a request whose Host header names none of the names
// this server answers to (DNS rebinding), before any handler runs.
func (s *Server) hostGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, "host %q is not a name of this server: use its address, or start it with --http-allow-host NAME", r.Host)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed says whether a Host header may reach this server: no Host
// (HTTP/1.0), an IP address (no DNS, so no rebinding), localhost and
// *.localhost (browsers resolve those themselves, to loopback), the name
// the server was bound to, this machine's name, or one of AllowHosts. The
// port is not compared: a proxy may change it.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	switch {
	case host == "":
		return true
	case net.ParseIP(host) != nil:
		return true
	case host == "localhost" || strings.HasSuffix(host, ".localhost"):
		return true
	}
	_, ok := s.hosts[host]
	return ok
}

// hostNames are the names hostAllowed takes besides addresses and
// localhost: the bound host if it is a name, this machine's name (and its
// mDNS .local form), and AllowHosts.
func hostNames(o Options) map[string]struct{} {
	names := map[string]struct{}{}
	add := func(h string) {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if h != "" {
			names[h] = struct{}{}
		}
	}
	if h, _, err := net.SplitHostPort(o.Addr); err == nil && net.ParseIP(h) == nil {
		add(h)
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		add(h)
		if !strings.Contains(h, ".") {
			add(h + ".local")
		}
	}
	for _, h := range o.AllowHosts {
		add(h)
	}
	return names
}

// isLoopback says whether a listen address is reachable from this machine
// only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// fromLoopback says whether a request came from this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
