package podrunner

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/klog/v2"
)

func TestRetryRemovalEndsWithTheAgent(t *testing.T) {
	life, end := context.WithCancel(context.Background())
	stuck := errors.New("pod sandbox 1234: runtime not answering")
	tries := make(chan struct{}, 100)
	remove := func(context.Context) error { tries <- struct{}{}; return stuck }
	done := make(chan error, 1)
	go func() { done <- retryRemoval(life, remove, klog.Background()) }()
	<-tries // it tried once and is waiting to retry
	end()
	select {
	case err := <-done:
		if !errors.Is(err, stuck) {
			t.Errorf("retryRemoval = %v, want the error naming what is left (%v)", err, stuck)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("retryRemoval kept retrying after the agent's context ended")
	}
}

func TestRetryRemovalRetriesUntilDone(t *testing.T) {
	n := 0
	remove := func(context.Context) error {
		if n++; n < 2 {
			return errors.New("busy")
		}
		return nil
	}
	if err := retryRemoval(context.Background(), remove, klog.Background()); err != nil || n != 2 {
		t.Errorf("retryRemoval = %v after %d tries, want nil after 2", err, n)
	}
}
