package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// staleUpload is how long an unfinished upload is kept; a client that has
// not finished by then has gone.
const staleUpload = 24 * time.Hour

// Serve runs the registry under root on address (such as 127.0.0.1:5000, or
// 127.0.0.1:0 for any free port) until ctx ends. ready, when set, is called
// with the bound address once the registry accepts connections.
func Serve(ctx context.Context, root, address string, ready func(addr string)) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("cannot create the registry directory %s: %v", root, err)
	}
	removeStaleUploads(store{root: root})
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("cannot listen on %s for the local registry (is another registry running? choose another --address): %v", address, err)
	}
	srv := &http.Server{Handler: New(root), ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}

// removeStaleUploads drops temporary files a crashed or abandoned push left.
func removeStaleUploads(s store) {
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleUpload {
			os.RemoveAll(filepath.Join(s.tmpDir(), e.Name()))
		}
	}
}
