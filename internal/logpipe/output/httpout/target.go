package httpout

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// Name returns how errors and log lines name an output section: its
// Alias when set, else its Name, else the plugin name.
func Name(plugin string, p logpipe.Params) string {
	if a, ok := p.Get("Alias"); ok && a != "" {
		return a
	}
	return p.String("Name", plugin)
}

// Endpoint says where an output's keys and defaults are: the defaults
// Fluent Bit gives Host and Port, and the key naming the request path.
type Endpoint struct {
	DefaultHost string
	DefaultPort int
	PathKey     string // "URI", "Uri", "Logs_uri", "Path"
	DefaultPath string
}

// Target is a receiver's address, read from Host, Port, the path key
// and tls.
type Target struct {
	Host string
	Port int
	Path string
	TLS  bool
}

// ReadTarget reads and checks Host, Port, the path key and tls.
func ReadTarget(p logpipe.Params, e Endpoint) (Target, error) {
	t := Target{Host: strings.TrimSpace(p.String("Host", e.DefaultHost)), Path: strings.TrimSpace(p.String(e.PathKey, e.DefaultPath))}
	if err := checkHost(t.Host); err != nil {
		return t, err
	}
	port, err := p.Int("Port", e.DefaultPort)
	if err != nil {
		return t, err
	}
	if port < 1 || port > 65535 {
		return t, fmt.Errorf("Port is %d: write a TCP port from 1 to 65535", port)
	}
	t.Port = port
	if t.Path != "" && !strings.HasPrefix(t.Path, "/") {
		return t, fmt.Errorf("%s is %q: it must start with /", e.PathKey, t.Path)
	}
	if t.TLS, err = p.Bool("tls", false); err != nil {
		return t, err
	}
	return t, nil
}

func checkHost(h string) error {
	switch {
	case h == "":
		return fmt.Errorf("Host is empty: write the receiver's host name or IP address")
	case strings.Contains(h, "://"):
		return fmt.Errorf("Host is %q: write the host name alone (no http:// or https://; use tls On for HTTPS)", h)
	case strings.ContainsAny(h, "/ ?#@"):
		return fmt.Errorf("Host is %q: write the host name alone, with no path (the path has its own key)", h)
	case strings.Contains(strings.Trim(h, "[]"), ":") && net.ParseIP(strings.Trim(h, "[]")) == nil:
		return fmt.Errorf("Host is %q: write the port in Port, not in Host", h)
	}
	return nil
}

// URL returns the receiver's URL: http or https (tls On), host, port and
// path.
func (t Target) URL() *url.URL {
	scheme := "http"
	if t.TLS {
		scheme = "https"
	}
	path := t.Path
	if path == "" {
		path = "/"
	}
	u, err := url.Parse(path)
	if err != nil {
		// A path that is not a URL reference is still a path.
		u = &url.URL{Path: path}
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(strings.Trim(t.Host, "[]"), strconv.Itoa(t.Port))
	return u
}
