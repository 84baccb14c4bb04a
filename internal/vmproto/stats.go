package vmproto

import "time"

// Stats answers OpStats: the whole pod's use (the guest's containers
// together) and each running container's, read from the guest's cgroups.
type Stats struct {
	Pod        Usage            `json:"pod"`
	Containers []ContainerUsage `json:"containers,omitempty"`
}

// Usage is a cumulative CPU counter and a memory reading.
type Usage struct {
	CPUUsageNanoseconds   uint64    `json:"cpuUsageNanoseconds"`
	MemoryWorkingSetBytes uint64    `json:"memoryWorkingSetBytes"`
	MemoryUsageBytes      uint64    `json:"memoryUsageBytes"`
	MemoryRSSBytes        uint64    `json:"memoryRSSBytes"`
	At                    time.Time `json:"at"`
}

// ContainerUsage is one running container's Usage.
type ContainerUsage struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	StartedAt time.Time `json:"startedAt"`
	Usage     Usage     `json:"usage"`
}
