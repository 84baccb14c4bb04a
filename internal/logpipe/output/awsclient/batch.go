package awsclient

import (
	"context"
	"fmt"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// Limits bound one batch call (PutRecordBatch, PutRecords).
type Limits struct {
	// Entries is the most entries a call takes.
	Entries int
	// Bytes is the most bytes of entries a call takes, as Size counts.
	Bytes int
}

// Batch is the entries of one Send and how to put them.
type Batch[T any] struct {
	// Op names the call in messages ("PutRecordBatch to my-stream").
	Op string
	// Entries are what to send, in order.
	Entries []T
	// Size is what an entry counts towards Limits.Bytes.
	Size func(T) int
	// Limits bound each call.
	Limits Limits
	// Put makes one call. It returns the positions (in entries) of the
	// entries the service refused and one refusal's reason, or an error
	// when the call failed as a whole.
	Put func(ctx context.Context, entries []T) (failed []int, reason string, err error)
}

// Back-off between tries of refused entries.
const (
	firstRetryWait = 100 * time.Millisecond
	maxRetryWait   = 5 * time.Second
)

// Deliver sends the entries call by call within the limits. Entries the
// service refuses in a call that accepted others are sent again, alone,
// with back-off until ctx ends: returning an error then would make the
// router resend the accepted ones too. A whole call failing is returned
// (classified by Classify) while nothing of this batch is accepted yet,
// and retried here once something is.
func (b Batch[T]) Deliver(ctx context.Context, env logpipe.Env) error {
	accepted := false
	for _, call := range b.calls() {
		if err := b.deliverCall(ctx, env, call, &accepted); err != nil {
			return err
		}
	}
	return nil
}

// calls cuts the entries into consecutive calls within the limits.
func (b Batch[T]) calls() [][]T {
	var out [][]T
	start, size := 0, 0
	for i, e := range b.Entries {
		n := b.Size(e)
		if i > start && (i-start == b.Limits.Entries || size+n > b.Limits.Bytes) {
			out = append(out, b.Entries[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(b.Entries) {
		out = append(out, b.Entries[start:])
	}
	return out
}

func (b Batch[T]) deliverCall(ctx context.Context, env logpipe.Env, pending []T, accepted *bool) error {
	wait := firstRetryWait
	for {
		failed, reason, err := b.Put(ctx, pending)
		if err != nil {
			err = Classify(b.Op, err)
			if logpipe.IsPermanent(err) || !*accepted {
				return err
			}
			env.Log("%v; trying again in %v", err, wait)
		} else {
			if len(failed) < len(pending) {
				*accepted = true
			}
			if len(failed) == 0 {
				return nil
			}
			env.Log("%s: %d of %d records refused (%s); sending them again in %v", b.Op, len(failed), len(pending), reason, wait)
			pending = pick(pending, failed)
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: %d records not accepted before giving up: %w", b.Op, len(pending), err)
		}
		wait = min(2*wait, maxRetryWait)
	}
}

// pick returns the entries at positions, in order.
func pick[T any](entries []T, positions []int) []T {
	out := make([]T, 0, len(positions))
	for _, i := range positions {
		out = append(out, entries[i])
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
