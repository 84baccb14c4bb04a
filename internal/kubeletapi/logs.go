package kubeletapi

import (
	"bufio"
	"io"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/util/flushwriter"

	"github.com/fargo-dev/fargo/internal/containerlog"
)

// writeLogs streams the attempt's CRI log file as the kubelet does: the
// latest attempt, or the one before with previous; errors before the
// first byte are 400s with the kubelet's messages.
func (s *server) writeLogs(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, name string, opts *corev1.PodLogOptions) {
	ref, err := s.cfg.Pods.Container(pod.UID, name, opts.Previous)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// A followed log is flushed line by line, as it comes; a log read to
	// its end is buffered: a flush per line costs 20 times the throughput.
	var fw io.Writer = flushwriter.Wrap(w)
	if !opts.Follow {
		bw := bufio.NewWriterSize(w, 32<<10)
		defer bw.Flush()
		fw = bw
	}
	var stdout, stderr io.Writer
	switch *opts.Stream {
	case corev1.LogStreamStdout:
		stdout = fw
	case corev1.LogStreamStderr:
		stderr = fw
	case corev1.LogStreamAll:
		stdout, stderr = fw, fw
	default:
		http.Error(w, "invalid stream type "+*opts.Stream, http.StatusBadRequest)
		return
	}
	// Following ends once this attempt is no longer the running one.
	running := func() bool {
		if opts.Previous {
			return false
		}
		now, err := s.cfg.Pods.Container(pod.UID, name, false)
		return err == nil && now.ID == ref.ID && now.Running
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	if err := containerlog.Read(r.Context(), ref.LogPath, opts, running, stdout, stderr); err != nil && r.Context().Err() == nil {
		s.log.V(2).Info("Reading container log failed", "pod", pod.Namespace+"/"+pod.Name, "container", name, "err", err)
	}
}
