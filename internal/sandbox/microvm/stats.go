package microvm

import (
	"context"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/vmproto"
)

// Stats reads the pod's and its containers' use from the guest's cgroups.
func (r *Runtime) Stats(ctx context.Context, uid string) (sandbox.PodUsage, error) {
	var st vmproto.Stats
	if err := r.call(ctx, uid, vmproto.OpStats, nil, &st); err != nil {
		return sandbox.PodUsage{}, err
	}
	out := sandbox.PodUsage{Usage: usageOf(st.Pod)}
	p, err := r.podFor(ctx, uid)
	if err == nil {
		out.StartedAt = p.startedAt()
	}
	for _, c := range st.Containers {
		out.Containers = append(out.Containers, sandbox.ContainerUsage{
			Name: c.Name, ID: c.ID, StartedAt: c.StartedAt, Usage: usageOf(c.Usage),
		})
	}
	return out, nil
}

func usageOf(u vmproto.Usage) sandbox.Usage {
	return sandbox.Usage{
		CPUUsageNanoseconds: u.CPUUsageNanoseconds, MemoryWorkingSetBytes: u.MemoryWorkingSetBytes,
		MemoryUsageBytes: u.MemoryUsageBytes, MemoryRSSBytes: u.MemoryRSSBytes, At: u.At,
	}
}
