package httpout

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// Retryable reports whether a request that got status may succeed when
// sent again: server errors, 408 (timeout) and 429 (throttled) may; other
// 4xx mean the receiver refuses this request as it is.
func Retryable(status int) bool {
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status < 400
}

// StatusError returns nil for a 2xx status, and otherwise an error with
// the start of the response body, marked Permanent when retrying cannot
// help.
func StatusError(status int, body []byte) error {
	if status >= 200 && status < 300 {
		return nil
	}
	err := fmt.Errorf("HTTP status %d: %s", status, snippet(body))
	if Retryable(status) {
		return err
	}
	return logpipe.Permanent(err)
}

// snippet is the start of a response body, enough to show the receiver's
// reason without flooding the router's log.
func snippet(body []byte) string {
	const max = 512
	s := strings.TrimSpace(string(body))
	if len(s) > max {
		s = s[:max] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// Request describes one POST of an encoded batch.
type Request struct {
	URL         string
	ContentType string
	Body        []byte
	Gzip        bool
	Header      http.Header // extra headers (Header lines, tenant)
	Auth        Auth
}

// Post sends r and sorts the outcome: nil for 2xx, a Permanent error
// for a refused request, any other error for one worth retrying
// (network errors included). It returns the response body for callers
// that read it.
func Post(ctx context.Context, c *http.Client, r Request) ([]byte, error) {
	body := r.Body
	if r.Gzip {
		var err error
		if body, err = gzipBytes(body); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return nil, logpipe.Permanent(err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", r.ContentType)
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Fluent-Bit")
	}
	if r.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	r.Auth.Apply(req)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Read the body whole so the connection can be reused.
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode/100 != 2 {
		return nil, err
	}
	return respBody, StatusError(resp.StatusCode, respBody)
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
