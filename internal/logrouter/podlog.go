package logrouter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/tail"
)

// TagPrefix is the fixed input's tag prefix: Fluent Bit tags a tailed file
// kube.<its path with dots>, and EKS tails /var/log/containers, wherever
// fargo keeps the logs.
const TagPrefix = "kube.var.log.containers."

// podLog is one pod's pipeline at work: the tails of its containers' logs,
// and where delivery stands.
type podLog struct {
	pod      podRef
	logDir   string
	pipe     *Pipeline
	pos      *positions
	self     *selfLog
	readers  map[string]*tail.Reader // by /var/log/containers name
	skipped  map[string]int
	log      func(format string, args ...any)
	poll     time.Duration
	flushGap time.Duration
	grace    time.Duration
	readOpts tail.Options
}

// stopGrace is how long a batch being delivered when the router stops may
// take to finish, as Fluent Bit's Grace: a batch cut off is sent again at
// the next start, to every output, so the outputs that had taken it would
// show its lines twice.
const stopGrace = 5 * time.Second

// run follows the pod's logs until the pod is gone and everything it
// wrote is delivered (then it returns true), or ctx ends. A batch being
// delivered when ctx ends gets w.grace to finish and be committed.
func (w *podLog) run(ctx context.Context) bool {
	defer w.close()
	sendCtx, cancel := graceAfter(ctx, w.grace)
	defer cancel()
	lastLine, flushed := time.Now(), true
	for ctx.Err() == nil {
		w.discover()
		batch, ends := w.read()
		if len(batch) > 0 {
			if !w.pipe.deliver(sendCtx, w.pipe.Process(batch), w.log) {
				return false
			}
			w.commit(ends)
			lastLine, flushed = time.Now(), false
			continue
		}
		if !flushed && time.Since(lastLine) >= w.flushGap {
			if !w.pipe.deliver(sendCtx, w.pipe.Flush(), w.log) {
				return false
			}
			flushed = true
		}
		if w.finished() {
			return true
		}
		w.wait(ctx)
	}
	return false
}

// graceAfter returns a context that ends grace after ctx does (or when
// cancelled).
func graceAfter(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	if grace <= 0 {
		return context.WithCancel(ctx)
	}
	out, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return out, func() { stop(); cancel() }
}

// wait returns when a log may have more to read (its tail says so, by
// inotify where it can), after poll, the time to look for new containers,
// or when ctx ends.
func (w *podLog) wait(ctx context.Context) {
	waitCtx, cancel := context.WithTimeout(ctx, w.poll)
	defer cancel()
	var waiting sync.WaitGroup
	for _, r := range w.readers {
		if r.Gone() {
			continue
		}
		waiting.Go(func() {
			r.Wait(waitCtx)
			cancel()
		})
	}
	<-waitCtx.Done()
	waiting.Wait() // a Reader is not used by two goroutines at once
}

// discover opens the logs of containers started since the last look.
func (w *podLog) discover() {
	links, _ := filepath.Glob(filepath.Join(w.logDir, "containers", w.pod.Name+"_"+w.pod.Namespace+"_*.log"))
	podDir := w.pod.dir(w.logDir) + string(filepath.Separator)
	for _, link := range links {
		name := filepath.Base(link)
		if _, open := w.readers[name]; open {
			continue
		}
		if target, err := os.Readlink(link); err != nil || !strings.HasPrefix(target, podDir) {
			continue // another pod of the same name, or not a container log
		}
		r, err := tail.Open(link, w.pos.at[name], w.readOpts)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				w.log("[error] [input:tail] cannot read %s: %v", name, err)
			}
			continue
		}
		w.readers[name] = r
	}
}

// read takes what the container logs have now, as records of the fixed
// input: the whole CRI line under "log", read time as the record's time.
func (w *podLog) read() ([]logpipe.Record, map[string]tail.Position) {
	var batch []logpipe.Record
	ends := map[string]tail.Position{}
	now := time.Now()
	for name, r := range w.readers {
		lines, err := r.Read()
		if err != nil {
			w.log("[error] [input:tail] reading %s: %v", name, err)
		}
		if n := r.Skipped(); n > w.skipped[name] {
			w.log("[ warn] [input:tail] %s: skipped %d lines longer than %d bytes", name, n-w.skipped[name], w.readOpts.MaxLineBytes)
			w.skipped[name] = n
		}
		for _, l := range lines {
			batch = append(batch, logpipe.Record{Tag: TagPrefix + name, Time: now, Fields: map[string]any{"log": l.Raw}})
		}
		if len(lines) > 0 {
			ends[name] = lines[len(lines)-1].End
		}
	}
	return batch, ends
}

func (w *podLog) commit(ends map[string]tail.Position) {
	for name, p := range ends {
		w.pos.at[name] = p
	}
	if err := w.pos.save(); err != nil {
		w.log("[error] [storage] saving log positions: %v", err)
	}
}

// finished: the pod's log directory is gone (the pod was removed) and
// every log was read to its end.
func (w *podLog) finished() bool {
	if _, err := os.Stat(w.pod.dir(w.logDir)); !errors.Is(err, os.ErrNotExist) {
		return false
	}
	for _, r := range w.readers {
		if !r.Gone() {
			return false
		}
	}
	return true
}

func (w *podLog) close() {
	for _, r := range w.readers {
		r.Close()
	}
	w.pipe.Close()
	w.self.close()
}
