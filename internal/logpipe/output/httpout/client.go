package httpout

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// TLSConfig reads Fluent Bit's tls.* keys: tls.verify (On), tls.ca_file,
// tls.crt_file with tls.key_file (a client certificate) and tls.vhost
// (the server name to expect). nil means the defaults of Go's TLS client
// apply, or that tls is Off.
func TLSConfig(p logpipe.Params) (*tls.Config, error) {
	on, err := p.Bool("tls", false)
	if err != nil || !on {
		return nil, err
	}
	verify, err := p.Bool("tls.verify", true)
	if err != nil {
		return nil, err
	}
	ca, crt, key := p.String("tls.ca_file", ""), p.String("tls.crt_file", ""), p.String("tls.key_file", "")
	vhost := p.String("tls.vhost", "")
	if verify && ca == "" && crt == "" && vhost == "" {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: !verify, ServerName: vhost} //nolint:gosec // tls.verify Off asks for it.
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s holds no PEM certificate", ca)
		}
	}
	if (crt == "") != (key == "") {
		return nil, fmt.Errorf("tls.crt_file and tls.key_file go together: set both or neither")
	}
	if crt != "" {
		pair, err := tls.LoadX509KeyPair(crt, key)
		if err != nil {
			return nil, fmt.Errorf("tls.crt_file/tls.key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Client returns the HTTP client an output uses: env's (or
// http.DefaultClient's settings) with tlsCfg applied to a copy of its
// transport, so the router's shared client is never changed.
func Client(env logpipe.Env, tlsCfg *tls.Config) (*http.Client, error) {
	base := env.HTTPClient
	if base == nil {
		base = http.DefaultClient
	}
	c := *base
	if tlsCfg == nil {
		return &c, nil
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	tr, ok := rt.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("the tls.* keys need the router's HTTP client to use an *http.Transport, not %T", rt)
	}
	tr = tr.Clone()
	tr.TLSClientConfig = tlsCfg
	c.Transport = tr
	return &c, nil
}

// Auth is how requests prove who sends them: HTTP basic auth
// (HTTP_User/HTTP_Passwd) or a bearer token.
type Auth struct {
	User, Password, BearerToken string
}

// ReadAuth reads HTTP_User and HTTP_Passwd, and bearer_token where the
// plugin has it (tokenKey not empty).
func ReadAuth(p logpipe.Params, tokenKey string) Auth {
	a := Auth{User: p.String("HTTP_User", ""), Password: p.String("HTTP_Passwd", "")}
	if tokenKey != "" {
		a.BearerToken = p.String(tokenKey, "")
	}
	return a
}

// Apply sets req's Authorization header. Basic auth wins over a token,
// as in Fluent Bit.
func (a Auth) Apply(req *http.Request) {
	switch {
	case a.User != "":
		req.SetBasicAuth(a.User, a.Password)
	case a.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+a.BearerToken)
	}
}

// ReadHeaders reads the repeatable Header key: "Name Value" lines.
func ReadHeaders(p logpipe.Params) (http.Header, error) {
	h := http.Header{}
	for _, line := range p.All("Header") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || name == "" {
			return nil, fmt.Errorf("Header is %q: write a header name, a space and its value", line)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// ReadGzip reads compress: gzip or nothing.
func ReadGzip(p logpipe.Params) (bool, error) {
	v, ok := p.Get("compress")
	if !ok {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "gzip":
		return true, nil
	case "", "off", "none", "false":
		return false, nil
	}
	return false, fmt.Errorf("compress is %q: write gzip, or leave it out", v)
}

// Release closes the idle connections of c's transport when Client made
// it for the output (tls.* keys); the router's shared transport is left
// alone.
func Release(c *http.Client, env logpipe.Env) {
	base := env.HTTPClient
	if base == nil {
		base = http.DefaultClient
	}
	if c.Transport != base.Transport {
		c.CloseIdleConnections()
	}
}
