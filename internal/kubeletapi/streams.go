package kubeletapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// exec answers /exec/NS/POD[/UID]/CONTAINER?command=...: the upstream
// streaming server speaks SPDY or WebSocket with the client (the
// apiserver) and hands us the streams.
func (s *server) exec(w http.ResponseWriter, r *http.Request) {
	opts, err := remotecommand.NewOptions(r)
	pod, w, r, end, ok := s.session(w, r, err)
	if !ok {
		return
	}
	defer end()
	remotecommand.ServeExec(w, r, streamer{s}, pod.Namespace+"/"+pod.Name, string(pod.UID), r.PathValue("container"),
		r.URL.Query()["command"], opts, s.cfg.StreamIdleTimeout, remotecommand.DefaultStreamCreationTimeout,
		remotecommand.SupportedStreamingProtocols)
}

// attach answers /attach/NS/POD[/UID]/CONTAINER.
func (s *server) attach(w http.ResponseWriter, r *http.Request) {
	opts, err := remotecommand.NewOptions(r)
	pod, w, r, end, ok := s.session(w, r, err)
	if !ok {
		return
	}
	defer end()
	remotecommand.ServeAttach(w, r, streamer{s}, pod.Namespace+"/"+pod.Name, string(pod.UID), r.PathValue("container"),
		opts, s.cfg.StreamIdleTimeout, remotecommand.DefaultStreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// portForward answers /portForward/NS/POD[/UID].
func (s *server) portForward(w http.ResponseWriter, r *http.Request) {
	opts, err := portforward.NewV4Options(r)
	pod, w, r, end, ok := s.session(w, r, err)
	if !ok {
		return
	}
	defer end()
	portforward.ServePortForward(w, r, streamer{s}, pod.Namespace+"/"+pod.Name, string(pod.UID), opts,
		s.cfg.StreamIdleTimeout, remotecommand.DefaultStreamCreationTimeout, portforward.SupportedProtocols)
}

// session starts a streaming session on the request's pod: a bad query
// (optsErr) is a 400 and an unknown pod a 404, as on a kubelet; else w and
// r come back wrapped so that the session ends with its client (end
// releases that watch).
func (s *server) session(w http.ResponseWriter, r *http.Request, optsErr error) (*corev1.Pod, http.ResponseWriter, *http.Request, context.CancelFunc, bool) {
	if optsErr != nil {
		http.Error(w, optsErr.Error(), http.StatusBadRequest)
		return nil, nil, nil, nil, false
	}
	pod, ok := s.podOf(r)
	if !ok {
		http.Error(w, "pod does not exist", http.StatusNotFound)
		return nil, nil, nil, nil, false
	}
	w, r, end := withHangup(w, r)
	return pod, w, r, end, true
}

// streamer adapts the runtime to the streaming server's Executor,
// Attacher and PortForwarder.
type streamer struct{ s *server }

var (
	_ remotecommand.Executor    = streamer{}
	_ remotecommand.Attacher    = streamer{}
	_ portforward.PortForwarder = streamer{}
)

// running returns the ID of the container's running attempt, or the
// kubelet's error when it is not running.
func (st streamer) running(uid, name string) (string, error) {
	ref, err := st.s.cfg.Pods.Container(types.UID(uid), name, false)
	if err != nil {
		return "", err
	}
	if !ref.Running {
		return "", fmt.Errorf("container %s is not running", name)
	}
	return ref.ID, nil
}

// ExecInContainer implements remotecommand.Executor; a non-zero exit code
// goes back as an ExitError, which the streaming server reports as such.
func (st streamer) ExecInContainer(ctx context.Context, _, uid, name string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	id, err := st.running(uid, name)
	if err != nil {
		return err
	}
	code, err := st.s.cfg.Runtime.ExecStream(ctx, uid, id, cmd, streams(ctx, in, out, errw, tty, resize))
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError(code)
	}
	return nil
}

// AttachContainer implements remotecommand.Attacher.
func (st streamer) AttachContainer(ctx context.Context, _, uid, name string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	id, err := st.running(uid, name)
	if err != nil {
		return err
	}
	return st.s.cfg.Runtime.Attach(ctx, uid, id, streams(ctx, in, out, errw, tty, resize))
}

// PortForward implements portforward.PortForwarder.
func (st streamer) PortForward(ctx context.Context, _, uid string, port int32, stream io.ReadWriteCloser) error {
	return st.s.cfg.Runtime.PortForward(ctx, uid, port, stream)
}

// streams turns the streaming server's ends into sandbox.Streams, leaving
// nil what the client did not ask for.
func streams(ctx context.Context, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) sandbox.Streams {
	s := sandbox.Streams{TTY: tty}
	if in != nil {
		s.Stdin = in
	}
	if out != nil {
		s.Stdout = out
	}
	if errw != nil {
		s.Stderr = errw
	}
	if resize != nil {
		sizes := make(chan sandbox.TerminalSize)
		go func() {
			defer close(sizes)
			for size := range resize {
				select {
				case sizes <- sandbox.TerminalSize{Width: size.Width, Height: size.Height}:
				case <-ctx.Done():
					return
				}
			}
		}()
		s.Resize = sizes
	}
	return s
}

// exitError is a command's non-zero exit, shaped as k8s.io/utils/exec's
// ExitError so that the streaming server reports the code.
type exitError int

func (e exitError) Error() string   { return fmt.Sprintf("command terminated with exit code %d", int(e)) }
func (e exitError) String() string  { return e.Error() }
func (e exitError) Exited() bool    { return true }
func (e exitError) ExitStatus() int { return int(e) }
