package registry

import (
	"context"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/image/imagetest"
)

func TestServeUntilCancelled(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, root, "127.0.0.1:0", func(addr string) { addrs <- addr }) }()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("Serve ended before ready: %v", err)
	}
	img := busybox(t)
	if err := imagetest.Push(ctx, img, addr+"/foo/bar:tag"); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got := digestOf(t, addr+"/foo/bar:tag"); got != want {
		t.Fatalf("served %s, want %s", got, want)
	}
	t.Run("address in use", func(t *testing.T) {
		err := Serve(ctx, root, addr, nil)
		if err == nil {
			t.Fatal("a second registry on the same address started")
		}
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}
