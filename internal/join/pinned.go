package join

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// pinnedTransport verifies the server's certificate against the CA that
// the token pins before anything, the token included, is sent. A fargo
// apiserver sends its CA after its own certificate (controlplane writes the
// chain), so the CA is found in the handshake and checked by its public key
// hash; the token then only travels to the server it came from.
func pinnedTransport(server, pin string) (*http.Transport, error) {
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("--server %q: %w", server, err)
	}
	host := u.Hostname()
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// Verification is VerifyConnection's: the roots are not known
			// until the handshake shows the pinned CA.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				return verifyPinned(cs.PeerCertificates, host, pin)
			},
		},
		DialContext: (&net.Dialer{}).DialContext,
	}, nil
}

// verifyPinned accepts a chain whose leaf is valid for host and issued by
// a CA certificate in the same chain whose public key hash is pin.
func verifyPinned(chain []*x509.Certificate, host, pin string) error {
	if len(chain) == 0 {
		return errors.New("the server sent no certificate")
	}
	roots := x509.NewCertPool()
	found := false
	for _, c := range chain[1:] {
		if c.IsCA && certHash(c) == pin {
			roots.AddCert(c)
			found = true
		}
	}
	if !found {
		return &pinError{fmt.Sprintf("the server's certificate chain does not hold the CA the join token pins (%s): "+
			"this is not the server the token came from, or not a fargo server", pin)}
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
		return &pinError{fmt.Sprintf("the server's certificate does not verify with the pinned CA for %s: %v "+
			"(pass an address the server's certificate names, or add it with fargo server --tls-san)", host, err)}
	}
	return nil
}

// pinError is a server that failed the pin: retrying cannot help.
type pinError struct{ msg string }

func (e *pinError) Error() string { return e.msg }
