package es

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
)

// Output sends batches to Elasticsearch or OpenSearch with _bulk.
type Output struct {
	name     string
	env      logpipe.Env
	client   *opensearchapi.Client
	settings settings
	now      func() time.Time
	// itemRetries and backoff bound the resending of items the receiver
	// answered 429 or 5xx for, within one Send.
	itemRetries int
	backoff     time.Duration
}

var _ logpipe.Output = (*Output)(nil)

// New reads the es output's keys and builds its opensearch-go client.
func New(p logpipe.Params, env logpipe.Env) (*Output, error) {
	o := &Output{name: httpout.Name("es", p), env: env, now: time.Now, itemRetries: 3, backoff: 500 * time.Millisecond}
	if err := o.read(p); err != nil {
		return nil, fmt.Errorf("output %q: %w", o.name, err)
	}
	return o, nil
}

func (o *Output) read(p logpipe.Params) error {
	if err := refuseUnsupported(p); err != nil {
		return err
	}
	t, err := httpout.ReadTarget(p, httpout.Endpoint{DefaultHost: "127.0.0.1", DefaultPort: 9200, PathKey: "Path"})
	if err != nil {
		return err
	}
	if o.settings, err = readSettings(p); err != nil {
		return err
	}
	cfg, err := o.clientConfig(p, t)
	if err != nil {
		return err
	}
	if o.client, err = opensearchapi.NewClient(opensearchapi.Config{Client: cfg}); err != nil {
		return fmt.Errorf("building the OpenSearch client: %w", err)
	}
	return nil
}

// clientConfig is a client for one node at Host:Port/Path that neither
// discovers other nodes nor health-checks nor retries: the router
// retries, and Send resends refused items itself.
func (o *Output) clientConfig(p logpipe.Params, t httpout.Target) (opensearch.Config, error) {
	auth := httpout.ReadAuth(p, "")
	gzip, err := httpout.ReadGzip(p)
	if err != nil {
		return opensearch.Config{}, err
	}
	tlsCfg, err := httpout.TLSConfig(p)
	if err != nil {
		return opensearch.Config{}, err
	}
	client, err := httpout.Client(o.env, tlsCfg)
	if err != nil {
		return opensearch.Config{}, err
	}
	sign, err := awsSigner(p, o.env)
	if err != nil {
		return opensearch.Config{}, err
	}
	base := t.URL()
	base.Path = strings.TrimSuffix(t.Path, "/")
	noDiscovery := false
	transport := client.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	if tlsCfg == nil {
		// The router's shared transport: hidden from the client's Close,
		// which closes its transport's idle connections.
		transport = sharedTransport{transport}
	}
	return opensearch.Config{
		Addresses:             []string{base.String()},
		Username:              auth.User,
		Password:              auth.Password,
		Signer:                sign,
		Transport:             transport,
		RequestTimeout:        client.Timeout,
		DisableRetry:          true,
		DiscoverNodesOnStart:  &noDiscovery,
		HealthCheckMaxRetries: -1,
		CompressRequestBody:   gzip,
	}, nil
}

// Send bulk-indexes batch. Items refused with 429 or 5xx are sent again
// (only they) a few times with back-off; items refused with another
// status are dropped and logged. An error means some items still wait.
func (o *Output) Send(ctx context.Context, batch []logpipe.Record) error {
	pending := batch
	wait := o.backoff
	for attempt := 0; ; attempt++ {
		retry, err := o.bulk(ctx, pending)
		if err != nil {
			return fmt.Errorf("output %q: %w", o.name, err)
		}
		if len(retry) == 0 {
			return nil
		}
		if attempt == o.itemRetries {
			return fmt.Errorf("output %q: %d of %d records still refused (throttled or failing) after %d tries; the batch will be sent again, so records already stored may be stored twice unless Generate_ID is On",
				o.name, len(retry), len(batch), attempt+1)
		}
		pending = retry
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// bulk sends recs once and returns those worth sending again.
func (o *Output) bulk(ctx context.Context, recs []logpipe.Record) ([]logpipe.Record, error) {
	body, err := o.settings.bulkBody(recs, o.now())
	if err != nil {
		return nil, logpipe.Permanent(err)
	}
	resp, err := o.client.Bulk(ctx, opensearchapi.BulkReq{
		Body:   bytes.NewReader(body),
		Header: http.Header{"Content-Type": {"application/x-ndjson"}},
		Params: opensearchapi.BulkParams{Pipeline: o.settings.pipeline},
	})
	if err != nil && !opensearchapi.IsPartialFailure(err) {
		return nil, requestError(resp, err)
	}
	return o.sortItems(recs, resp), nil
}

// requestError sorts a failed _bulk request: refused (4xx but 408/429)
// is permanent.
func requestError(resp *opensearchapi.BulkResp, err error) error {
	r := resp.Inspect().Response
	if r == nil {
		return fmt.Errorf("_bulk: %w", err)
	}
	err = fmt.Errorf("_bulk: HTTP status %d: %w", r.StatusCode, err)
	if strings.Contains(err.Error(), "_type") {
		err = fmt.Errorf("%w (the server no longer takes document types: set Suppress_Type_Name On)", err)
	}
	if httpout.Retryable(r.StatusCode) {
		return err
	}
	return logpipe.Permanent(err)
}

// sortItems reads the per-item results: accepted (2xx, or 409: a copy
// with that _id is there already), to retry (429, 5xx), or dropped.
func (o *Output) sortItems(recs []logpipe.Record, resp *opensearchapi.BulkResp) []logpipe.Record {
	if !resp.Errors {
		return nil
	}
	if len(resp.Items) != len(recs) {
		// Which items failed cannot be told: send them all again.
		return recs
	}
	var retry []logpipe.Record
	for i, item := range resp.Items {
		for _, r := range item {
			switch {
			case r.Status < 300 || r.Status == http.StatusConflict:
			case httpout.Retryable(r.Status):
				retry = append(retry, recs[i])
			default:
				o.env.Log("output %q: dropping a record of %s: index %s refused it (status %d): %s", o.name, recs[i].Tag, r.Index, r.Status, itemReason(r))
			}
		}
	}
	return retry
}

func itemReason(r opensearchapi.BulkRespItem) string {
	if r.Error == nil {
		return "no reason given"
	}
	return r.Error.Type + ": " + r.Error.Reason
}

// sharedTransport is a RoundTripper without CloseIdleConnections.
type sharedTransport struct{ http.RoundTripper }

// Close stops the client and releases its connections.
func (o *Output) Close() error {
	if err := o.client.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
