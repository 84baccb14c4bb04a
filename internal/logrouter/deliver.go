package logrouter

import (
	"context"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// Retry back-off after a failed send: doubling from firstRetry up to
// maxRetry, so a receiver that comes back is used again within maxRetry.
const (
	firstRetry = 500 * time.Millisecond
	maxRetry   = 8 * time.Second
)

// deliver hands each output its batch and returns when every output took
// it, dropped it as permanently refused, or ctx ended (then false). An
// output that took its batch is not asked again while another retries, so
// a retry repeats nothing to the outputs that succeeded.
func (p *Pipeline) deliver(ctx context.Context, batches [][]logpipe.Record, log func(string, ...any)) bool {
	pending := 0
	for _, b := range batches {
		if len(b) > 0 {
			pending++
		}
	}
	wait := firstRetry
	for pending > 0 {
		for i, b := range batches {
			if len(b) == 0 {
				continue
			}
			err := p.routes[i].out.Send(ctx, b)
			switch {
			case err == nil:
			case logpipe.IsPermanent(err):
				log("[error] [output:%s] dropped %d records the receiver refused: %v", p.routes[i].name, len(b), err)
			default:
				if ctx.Err() == nil {
					log("[ warn] [output:%s] sending %d records failed, retrying in %s: %v", p.routes[i].name, len(b), wait, err)
				}
				continue
			}
			batches[i] = nil
			pending--
		}
		if pending == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetry)
	}
	return true
}
