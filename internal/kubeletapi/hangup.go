package kubeletapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
)

// withHangup returns w and r such that r's context ends once the client
// of the upgraded (hijacked) connection goes away. A hijacked request's
// own context does not end then, and a command that prints nothing would
// run on after `kubectl exec` was killed; the runtime kills it when the
// context ends.
func withHangup(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	return hangupWriter{ResponseWriter: w, cancel: cancel}, r.WithContext(ctx), cancel
}

type hangupWriter struct {
	http.ResponseWriter
	cancel context.CancelFunc
}

// Hijack implements http.Hijacker, handing out a connection that ends the
// request's context when a read from it fails.
func (h hangupWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("kubelet API: the connection cannot be upgraded")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	// The protocols read through rw's reader, which reads the connection
	// itself once its buffer is drained: watch both.
	rw = bufio.NewReadWriter(bufio.NewReader(hangupReader{r: rw.Reader, cancel: h.cancel}), rw.Writer)
	return hangupConn{Conn: conn, reader: hangupReader{r: conn, cancel: h.cancel}}, rw, nil
}

// hangupReader cancels when a read fails.
type hangupReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (h hangupReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if err != nil {
		h.cancel()
	}
	return n, err
}

// hangupConn cancels once its peer closed or the connection broke: the
// streaming protocols keep a reader on the connection for as long as the
// session lasts, so a failed read means the session is over.
type hangupConn struct {
	net.Conn
	reader hangupReader
}

func (c hangupConn) Read(p []byte) (int, error) { return c.reader.Read(p) }
