// Package webhook serves fargo's admission handlers to the kube-apiserver
// and registers them: an HTTPS listener that accepts only the apiserver's
// own client certificate, the webhook configurations pointing at it, and
// the apiserver-side files (admission config and kubeconfig) that make the
// apiserver present that certificate.
package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// ClientCommonName is the certificate name the apiserver uses when calling
// fargo's webhooks; the listener refuses every other caller.
const ClientCommonName = "kube-apiserver-webhook-client"

// Listener is the webhook endpoint's TLS setup.
type Listener struct {
	Addr     string // host:port
	CertFile string
	KeyFile  string
	ClientCA string // CA that signed ClientCommonName's certificate
}

// Serve answers on l.Addr with handler until ctx ends. The listener is opened
// before Serve returns its first error, so a taken port fails at once.
func Serve(ctx context.Context, l Listener, handler http.Handler) (<-chan error, error) {
	cfg, err := l.tlsConfig()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return nil, fmt.Errorf("webhook port: %w: pass --webhook-port with a free port", err)
	}
	srv := &http.Server{
		Handler:           onlyAPIServer(handler),
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
		// The apiserver gives a webhook a few seconds at most; a handler
		// that takes longer is answered for by failurePolicy anyway.
		WriteTimeout: 15 * time.Second,
	}
	done := make(chan error, 1)
	go func() {
		err := srv.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	return done, nil
}

func (l Listener) tlsConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(l.ClientCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", l.ClientCA)
	}
	cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// onlyAPIServer refuses callers other than the apiserver: every component's
// certificate comes from the same CA, so the CA alone proves too little.
func onlyAPIServer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != ClientCommonName {
			http.Error(w, "only the kube-apiserver may call this webhook", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
