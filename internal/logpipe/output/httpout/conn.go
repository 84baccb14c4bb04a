package httpout

import (
	"context"
	"net/http"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// Conn is where and how an HTTP output posts: the keys that Fluent Bit's
// http, loki and opentelemetry outputs share (Host, Port, the path key,
// tls.*, HTTP_User/HTTP_Passwd or a bearer token, Header, compress).
type Conn struct {
	// URL is the endpoint every request goes to.
	URL    string
	client *http.Client
	env    logpipe.Env
	auth   Auth
	header http.Header
	gzip   bool
}

// ReadConn reads an output's connection keys; e gives the output's
// defaults and path key, and tokenKey its bearer-token key ("" for none).
func ReadConn(p logpipe.Params, env logpipe.Env, e Endpoint, tokenKey string) (*Conn, error) {
	t, err := ReadTarget(p, e)
	if err != nil {
		return nil, err
	}
	c := &Conn{URL: t.URL().String(), env: env, auth: ReadAuth(p, tokenKey)}
	if c.header, err = ReadHeaders(p); err != nil {
		return nil, err
	}
	if c.gzip, err = ReadGzip(p); err != nil {
		return nil, err
	}
	tlsCfg, err := TLSConfig(p)
	if err != nil {
		return nil, err
	}
	if c.client, err = Client(env, tlsCfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Post sends body as JSON with the output's headers, and extra ones (a
// tag, a tenant) over them; see the package's Post for what it returns.
func (c *Conn) Post(ctx context.Context, body []byte, extra http.Header) ([]byte, error) {
	header := c.header
	if len(extra) > 0 {
		header = c.header.Clone()
		if header == nil {
			header = http.Header{}
		}
		for k, vs := range extra {
			header[k] = vs
		}
	}
	return Post(ctx, c.client, Request{URL: c.URL, ContentType: "application/json", Body: body, Gzip: c.gzip, Header: header, Auth: c.auth})
}

// Close releases the connections of the output's own TLS transport.
func (c *Conn) Close() { Release(c.client, c.env) }
