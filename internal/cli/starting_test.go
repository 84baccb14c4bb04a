package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// readyzServer answers /readyz/fargo with the codes given, then 200.
func readyzServer(t *testing.T, codes ...int) (*rest.Config, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz/fargo" {
			t.Errorf("asked %s, want /readyz/fargo", r.URL.Path)
		}
		n := int(calls.Add(1)) - 1
		if n < len(codes) {
			http.Error(w, "internal server error: fargo's CRDs are starting", codes[n])
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}, &calls
}

func TestAwaitFargoWaitsWhileStarting(t *testing.T) {
	cfg, calls := readyzServer(t, 500, 500)
	var out bytes.Buffer
	if err := awaitFargo(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3: two while starting, one ready", n)
	}
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "waiting for fargo to finish starting (internal server error: fargo's CRDs are starting)") {
		t.Errorf("printed %q, want one waiting line with the reason", got)
	}
}

func TestAwaitFargoDoesNotWaitForOtherClusters(t *testing.T) {
	cfg, calls := readyzServer(t, 404)
	var out bytes.Buffer
	if err := awaitFargo(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 || out.Len() != 0 {
		t.Errorf("%d requests and %q printed, want 1 and nothing: no fargo check means not fargo's cluster", n, out.String())
	}
}

func TestAwaitFargoGivesUp(t *testing.T) {
	defer func(d time.Duration) { startingTimeout = d }(startingTimeout)
	startingTimeout = 600 * time.Millisecond
	cfg, _ := readyzServer(t, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
	err := awaitFargo(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "fargo did not finish starting within 600ms") {
		t.Errorf("error %v, want one saying fargo did not finish starting", err)
	}
}
