package containerlog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// entry is one CRI log record as the shim writes it.
type entry struct {
	at     time.Time
	stream string
	full   bool
	text   string
}

func (e entry) String() string {
	tag := "P"
	if e.full {
		tag = "F"
	}
	return fmt.Sprintf("%s %s %s %s\n", e.at.UTC().Format(time.RFC3339Nano), e.stream, tag, e.text)
}

// writeLog makes a CRI log file of entries.
func writeLog(t *testing.T, path string, entries ...entry) {
	t.Helper()
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.String())
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o640); err != nil {
		t.Fatal(err)
	}
}

// appendLog adds entries to a CRI log file.
func appendLog(t *testing.T, path string, entries ...entry) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, e := range entries {
		if _, err := f.WriteString(e.String()); err != nil {
			t.Fatal(err)
		}
	}
}

// output is a writer a test can wait on: Read writes to it from another
// goroutine.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.changed)
	o.changed = make(chan struct{})
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output holds s.
func (o *output) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		o.mu.Lock()
		has, changed := strings.Contains(o.buf.String(), s), o.changed
		o.mu.Unlock()
		if has {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("output never showed %q; it has %d bytes", s, len(o.String()))
		}
	}
}

// following runs Read in the background and returns its result channel.
func following(ctx context.Context, path string, running func() bool, stdout, stderr *output) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, path, &corev1.PodLogOptions{Follow: true}, running, stdout, stderr)
	}()
	return done
}

// waitDone waits for Read to end and returns its error.
func waitDone(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Read went on following after the container stopped or the client left")
		return nil
	}
}
