package logrouter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/tail"
	"github.com/fargo-dev/fargo/internal/testwait"
)

// recordingOutput is a receiver at the boundary: it keeps what it took,
// refuses everything while down, and can hold every Send until released.
type recordingOutput struct {
	mu       sync.Mutex
	got      []logpipe.Record
	down     bool
	failures int
	block    chan struct{} // when set, Send waits for it to close
	sends    int
}

func (o *recordingOutput) Send(ctx context.Context, batch []logpipe.Record) error {
	o.mu.Lock()
	block := o.block
	o.sends++
	o.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down {
		o.failures++
		return errors.New("connection refused")
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	o.got = append(o.got, batch...)
	return nil
}

func (o *recordingOutput) Close() error { return nil }

func (o *recordingOutput) setDown(down bool) {
	o.mu.Lock()
	o.down = down
	o.mu.Unlock()
}

// lines returns the "line N" numbers received, in order.
func (o *recordingOutput) numbers(t *testing.T) []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []int
	for _, r := range o.got {
		raw, _ := r.Fields["log"].(string)
		_, num, ok := strings.Cut(raw, " F line ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			t.Fatalf("record %q is not a line this test wrote", raw)
		}
		out = append(out, n)
	}
	return out
}

// podFixture is a pod's log as the pod runner lays it out, and the grace
// its pipelines get to finish a batch when stopped.
type podFixture struct {
	logDir, stateDir string
	ref              podRef
	file             *os.File
	grace            time.Duration
}

func newPodFixture(t *testing.T) *podFixture {
	t.Helper()
	f := &podFixture{logDir: t.TempDir(), stateDir: t.TempDir(), ref: podRef{Namespace: "study-aews", Name: "web-1", UID: "0c2f"}, grace: stopGrace}
	dir := filepath.Join(f.ref.dir(f.logDir), "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.logDir, "containers"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "0.log")
	file, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { file.Close() })
	f.file = file
	if err := os.Symlink(target, filepath.Join(f.logDir, "containers", "web-1_study-aews_nginx-0c2f4e1a-9b3-nginx-0.log")); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *podFixture) write(t *testing.T, from, to int) {
	t.Helper()
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s stdout F line %d\n", time.Now().UTC().Format(time.RFC3339Nano), i)
	}
	if _, err := f.file.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

// run starts a podLog over outs, as the router would after a (re)start.
func (f *podFixture) run(t *testing.T, ctx context.Context, bufferBytes int, outs ...logpipe.Output) <-chan bool {
	t.Helper()
	pos, err := loadPositions(filepath.Join(f.stateDir, "positions.json"))
	if err != nil {
		t.Fatal(err)
	}
	pipe := &Pipeline{}
	for i, out := range outs {
		pipe.routes = append(pipe.routes, route{name: fmt.Sprintf("test.%d", i), match: matcher{pattern: "kube.*"}, out: out})
	}
	w := &podLog{
		pod: f.ref, logDir: f.logDir, pos: pos, self: &selfLog{pod: f.ref}, pipe: pipe,
		readers: map[string]*tail.Reader{}, skipped: map[string]int{}, log: t.Logf,
		poll: 20 * time.Millisecond, flushGap: time.Second, grace: f.grace,
		readOpts: tail.Options{ReadBytes: bufferBytes, MaxLineBytes: 256 << 10},
	}
	done := make(chan bool, 1)
	go func() { done <- w.run(ctx) }()
	return done
}

func wantSequence(t *testing.T, got []int, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("received %d lines, want %d", len(got), n)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("line %d received as the %dth: a line was lost or repeated", v, i)
		}
	}
}

// An output that is down for a while gets every line once it is back,
// and an agent restart in the middle neither loses nor repeats one.
func TestEveryLineOnceAcrossOutageAndRestart(t *testing.T) {
	f := newPodFixture(t)
	f.grace = 0 // the stop below comes while the output is down
	out := &recordingOutput{}
	ctx, stop := context.WithCancel(context.Background())
	done := f.run(t, ctx, 64<<10, out)
	f.write(t, 0, 1000)
	testwait.Eventually(t, 20*time.Second, "first 1000 lines delivered", func(context.Context) error {
		if n := len(out.numbers(t)); n != 1000 {
			return fmt.Errorf("%d delivered", n)
		}
		return nil
	})

	out.setDown(true)
	f.write(t, 1000, 2000)
	testwait.Eventually(t, 20*time.Second, "sends failing while the output is down", func(context.Context) error {
		out.mu.Lock()
		defer out.mu.Unlock()
		if out.failures < 2 {
			return fmt.Errorf("%d failed sends", out.failures)
		}
		return nil
	})
	// The agent stops while the output is down, and starts again.
	stop()
	if finished := <-done; finished {
		t.Fatal("pipeline said the pod finished; it was stopped")
	}
	f.write(t, 2000, 3000)
	ctx, stop = context.WithCancel(context.Background())
	defer stop()
	done = f.run(t, ctx, 64<<10, out)
	out.setDown(false)
	testwait.Eventually(t, 30*time.Second, "all 3000 lines delivered", func(context.Context) error {
		if n := len(out.numbers(t)); n < 3000 {
			return fmt.Errorf("%d delivered", n)
		}
		return nil
	})
	wantSequence(t, out.numbers(t), 3000)

	// The pod goes: the pipeline finishes once its logs are read.
	if err := os.RemoveAll(f.ref.dir(f.logDir)); err != nil {
		t.Fatal(err)
	}
	select {
	case finished := <-done:
		if !finished {
			t.Fatal("pipeline stopped without finishing")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("pipeline still running 30 s after its pod's logs were removed")
	}
}

// A stop while a batch is on its way lets the batch finish and be
// committed: an output that had already taken it does not get it again
// from the next run.
func TestStopFinishesTheBatchInFlight(t *testing.T) {
	f := newPodFixture(t)
	first, second := &recordingOutput{}, &recordingOutput{block: make(chan struct{})}
	ctx, stop := context.WithCancel(context.Background())
	done := f.run(t, ctx, 64<<10, first, second)
	f.write(t, 0, 100)
	testwait.Eventually(t, 20*time.Second, "the first output has the batch and the second is taking it", func(context.Context) error {
		second.mu.Lock()
		defer second.mu.Unlock()
		if n := len(first.numbers(t)); second.sends == 0 || n != 100 {
			return fmt.Errorf("first output has %d lines, second has %d sends", n, second.sends)
		}
		return nil
	})
	stop()
	close(second.block) // the second output's receiver answers after the stop
	select {
	case finished := <-done:
		if finished {
			t.Fatal("pipeline said the pod finished; it was stopped")
		}
	case <-time.After(2 * stopGrace):
		t.Fatalf("pipeline still running %v after it was stopped", 2*stopGrace)
	}
	wantSequence(t, second.numbers(t), 100)

	ctx, stop = context.WithCancel(context.Background())
	defer stop()
	done = f.run(t, ctx, 64<<10, first, second)
	f.write(t, 100, 200)
	testwait.Eventually(t, 20*time.Second, "the lines written after the restart delivered", func(context.Context) error {
		if n, m := len(first.numbers(t)), len(second.numbers(t)); n < 200 || m < 200 {
			return fmt.Errorf("%d and %d delivered", n, m)
		}
		return nil
	})
	wantSequence(t, first.numbers(t), 200)
	wantSequence(t, second.numbers(t), 200)
	stop()
	<-done
}

// A receiver that takes nothing pauses the tail: the router holds one
// bounded batch, however much the container writes.
func TestBlockedOutputPausesTheTail(t *testing.T) {
	f := newPodFixture(t)
	out := &recordingOutput{block: make(chan struct{})}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	const buffer = 32 << 10
	done := f.run(t, ctx, buffer, out)
	f.write(t, 0, 20000) // about 1 MB
	testwait.Eventually(t, 20*time.Second, "a send waiting on the receiver", func(context.Context) error {
		out.mu.Lock()
		defer out.mu.Unlock()
		if out.sends == 0 {
			return errors.New("no send yet")
		}
		return nil
	})
	pos, err := loadPositions(filepath.Join(f.stateDir, "positions.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pos.at) != 0 {
		t.Fatalf("positions saved before anything was delivered: %v", pos.at)
	}
	close(out.block)
	testwait.Eventually(t, 30*time.Second, "all lines delivered once unblocked", func(context.Context) error {
		if n := len(out.numbers(t)); n < 20000 {
			return fmt.Errorf("%d delivered", n)
		}
		return nil
	})
	wantSequence(t, out.numbers(t), 20000)
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.sends < 20000*40/buffer {
		t.Fatalf("%d sends for about 1 MB with a %d-byte buffer: batches are not bounded", out.sends, buffer)
	}
	stop()
	<-done
}
