package logpipe

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Parser turns a text (a log line, or a field's value) into fields. t is
// the record time read from the parser's Time_Key, zero when it has none
// or Time_Key is missing from the text. ok is false when text does not
// match: the caller keeps the record as it was.
type Parser interface {
	Parse(text string) (fields map[string]any, t time.Time, ok bool)
}

// Filter changes records. It returns what becomes of rec: nothing (the
// record is dropped), rec changed, or several records. A returned record
// whose Tag differs from rec's (rewrite_tag) enters the pipeline again
// from its first filter, as Fluent Bit's emitter does.
//
// A filter is used by one pipeline goroutine at a time; it may keep state
// (throttle's window, multiline's pending lines).
type Filter interface {
	Filter(rec Record) []Record
}

// Flusher is a Filter that holds records back (multiline) and must hand
// them on when no more lines come: Flush returns what it held.
type Flusher interface {
	Flush() []Record
}

// Output delivers records to a receiver.
type Output interface {
	// Send delivers a batch of records, in order, all matched to this
	// output. nil means all were accepted. An error wrapped by Permanent
	// means retrying the same batch cannot help (the batch is dropped and
	// counted); any other error is retried with back-off, so Send must be
	// safe to repeat (a receiver may see a record twice only where its
	// API has no idempotence, and the output says so in its doc).
	Send(ctx context.Context, batch []Record) error
	// Close releases the output's connections.
	Close() error
}

// Env is what the router hands every plugin it builds: who it runs for
// and how it reaches the network.
type Env struct {
	// Cluster is the cluster's name, used where Fluent Bit on EKS uses the
	// cluster name (the flb_log_cw group).
	Cluster string
	// AWSCredentials signs AWS requests; nil takes the AWS SDK's default
	// chain (environment, shared files, instance roles).
	AWSCredentials aws.CredentialsProvider
	// HTTPClient is used by outputs that speak HTTP; nil takes
	// http.DefaultClient's settings.
	HTTPClient *http.Client
	// Logf writes the router's own log lines about the plugin (a failed
	// send, a dropped record); nil discards them.
	Logf func(format string, args ...any)
}

// Log writes through Logf when there is one.
func (e Env) Log(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one retrying cannot fix (a 400 from the
// receiver, a record it refuses).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
