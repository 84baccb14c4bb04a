package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"

	"github.com/vishvananda/netns"
)

// PortForward implements sandbox.Runtime: it connects to port on the
// pod's loopback from inside the pod's network namespace, as the CRI
// runtimes do, and copies both ways until either side is done.
func (r *Runtime) PortForward(ctx context.Context, uid string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	if err := validName("pod UID", uid); err != nil {
		return err
	}
	if port <= 0 || port > 65535 {
		return fmt.Errorf("oci: port-forward: invalid port %d", port)
	}
	pod, err := r.readPod(uid)
	if err != nil {
		return err
	}
	conn, err := dialInNetns(ctx, pod.NetnsPath, net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("failed to connect to localhost:%d inside namespace of pod %s/%s: %w", port, pod.Namespace, pod.Name, err)
	}
	defer conn.Close()
	return pipe(ctx, conn.(*net.TCPConn), stream)
}

// pipe copies between conn and stream until both directions end or ctx
// does; the write half of each side is closed when its source ends.
func pipe(ctx context.Context, conn *net.TCPConn, stream io.ReadWriteCloser) error {
	stop := context.AfterFunc(ctx, func() {
		conn.Close()
		stream.Close()
	})
	defer stop()
	var wg sync.WaitGroup
	var toPod error
	wg.Go(func() {
		_, toPod = io.Copy(conn, stream)
		_ = conn.CloseWrite()
	})
	_, fromPod := io.Copy(stream, conn)
	// The client may keep its side open after the server finished: close
	// the stream so its copy ends too.
	stream.Close()
	wg.Wait()
	if errors.Is(fromPod, net.ErrClosed) || errors.Is(toPod, net.ErrClosed) {
		return nil
	}
	return errors.Join(fromPod, toPod)
}

// dialInNetns dials addr from the network namespace at path. The socket
// keeps that namespace once made, so only the dial runs on a thread
// switched into it; a thread that cannot switch back is not reused.
func dialInNetns(ctx context.Context, path, addr string) (net.Conn, error) {
	if path == "" {
		return nil, errors.New("the pod has no network namespace")
	}
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp4", addr)
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{conn, err}
	}()
	res := <-done
	return res.conn, res.err
}
