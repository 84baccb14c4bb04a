// Package containerlog serves and rotates containers' CRI log files the way
// a kubelet does: Read answers /containerLogs (kubectl logs) with upstream's
// CRI log reader, and a Rotator keeps each running attempt's log under a
// size limit, renaming, compressing and pruning old files like the kubelet's
// container log manager.
package containerlog

import (
	"context"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/logs"
	"k8s.io/kubernetes/pkg/apis/core/v1/validation"
)

// Read writes the CRI log file at path to stdout and stderr as a kubelet
// serves /containerLogs/NS/POD/CONTAINER, honouring opts' follow,
// tailLines, sinceSeconds, sinceTime, timestamps and limitBytes. A nil
// writer drops that stream without counting it against limitBytes, which
// is how a caller serves PodLogOptions.Stream. previous and stream select
// which file and writers the caller passes; Read does not look at them.
//
// running answers whether the attempt writing path still runs (nil: it
// does not, as for --previous). While
// following, Read waits for more lines while running returns true, and
// ends at the end of the file once it returns false; it also follows the
// file across a rotation (the path renamed and created again). Read ends
// early when ctx is done.
//
// Options the kubelet would refuse (negative tailLines, limitBytes below
// 1, both sinceSeconds and sinceTime) are an error before anything is
// written.
func Read(ctx context.Context, path string, opts *corev1.PodLogOptions, running func() bool, stdout, stderr io.Writer) error {
	if opts == nil {
		opts = &corev1.PodLogOptions{}
	}
	if errs := validation.ValidatePodLogOptions(opts); len(errs) > 0 {
		return fmt.Errorf("invalid log options: %w; fix the query parameters", errs.ToAggregate())
	}
	// The container ID only reaches our runtime adapter, which ignores it;
	// the path identifies the attempt in upstream's own log messages.
	return logs.ReadLogs(ctx, path, path, criOptions(opts, time.Now()), attemptState{running: running}, stdout, stderr)
}

// criOptions converts the API's options to the reader's as the kubelet
// does (kuberuntime's ReadLogs): since is the later of sinceSeconds before
// now and sinceTime.
func criOptions(opts *corev1.PodLogOptions, now time.Time) *logs.LogOptions {
	out := &logs.LogOptions{
		TailLines:  opts.TailLines,
		LimitBytes: opts.LimitBytes,
		Follow:     opts.Follow,
		Timestamp:  opts.Timestamps,
	}
	if opts.SinceSeconds != nil {
		out.Since = now.Add(-time.Duration(*opts.SinceSeconds) * time.Second)
	}
	if opts.SinceTime != nil && opts.SinceTime.After(out.Since) {
		out.Since = opts.SinceTime.Time
	}
	return out
}

// attemptState is the CRI runtime service ReadLogs asks, while following,
// whether the container still runs. ReadLogs calls only ContainerStatus,
// so only that is implemented; the embedded interface is nil and any other
// method would panic, which a change in upstream's reader would show at
// once in this package's tests.
type attemptState struct {
	internalapi.RuntimeService
	running func() bool
}

// ContainerStatus reports the attempt running or exited, from running.
func (s attemptState) ContainerStatus(_ context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse, error) {
	state := runtimeapi.ContainerState_CONTAINER_EXITED
	if s.running != nil && s.running() {
		state = runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: id, State: state}}, nil
}
