// Package sandbox defines what a sandbox runtime does for a pod: one
// isolation boundary per pod (network, IPC and UTS namespaces, a cgroup
// sized to the pod's provisioned vCPU and memory) holding the pod's
// containers. Implementations live beside it: oci/ (runc, crun, runsc),
// and later microvm/. The node agent (internal/podrunner) drives a Runtime;
// it decides what runs when, a Runtime only does it.
package sandbox

import (
	"context"
	"io"
	"time"
)

// PodConfig is what a pod's sandbox is made from.
type PodConfig struct {
	// UID is the pod's UID; it names the sandbox.
	UID       string
	Namespace string
	Name      string
	// Hostname is the pod's hostname (spec.hostname or its name).
	Hostname string
	// NetnsPath is the network namespace prepared for the pod
	// (internal/network), e.g. /var/run/netns/fargo-<uid>.
	NetnsPath string
	// MilliCPU and MemoryBytes are the provisioned size, enforced on the
	// pod's cgroup (CPU quota and memory limit).
	MilliCPU    int64
	MemoryBytes int64
	// Files are written into the pod's directory and bind-mounted into
	// every container at their key: /etc/hosts, /etc/hostname,
	// /etc/resolv.conf.
	Files map[string][]byte
	// Tier is the kind of sandbox the pod runs in; empty for the host's
	// default.
	Tier Tier
	// Images are the layer lists (ContainerConfig.Layers) of every image
	// the pod's containers use, for runtimes whose sandbox must know them
	// when it is made (Tier.ImagesAtCreate); else empty.
	Images [][]string
	// EphemeralStorageBytes bounds the containers' writable layers and
	// emptyDirs where the runtime can enforce it (a microVM's scratch
	// disk); zero for the default.
	EphemeralStorageBytes int64
}

// Tier is a kind of sandbox, as a RuntimeClass names it.
type Tier string

const (
	TierOCI     Tier = "oci"     // namespaces and cgroups (runc, crun)
	TierGVisor  Tier = "gvisor"  // a user-space kernel (runsc)
	TierMicroVM Tier = "microvm" // a VM with its own kernel per pod
)

// ImagesAtCreate says whether a tier's sandbox needs PodConfig.Images: a
// microVM's disks are fixed when it boots.
func (t Tier) ImagesAtCreate() bool { return t == TierMicroVM }

// Mount is a bind mount into a container.
type Mount struct {
	Source      string // host path
	Destination string // path in the container
	ReadOnly    bool
}

// ContainerConfig is one run (attempt) of one container of a pod.
type ContainerConfig struct {
	// Name is the container's name in the pod spec; Attempt counts its
	// runs from 0 (kubelet's restartCount). ID, returned by
	// StartContainer, is unique per attempt.
	Name    string
	Attempt int
	// Layers are the image's unpacked layer directories, lowest first.
	// The container's root is an overlay over them with its own upper dir.
	Layers []string
	// Args is the full argv (entrypoint and command resolved); Env is
	// KEY=VALUE; WorkingDir may be empty ("/").
	Args       []string
	Env        []string
	WorkingDir string
	// User is the process's user: "UID" or "UID:GID" (numeric, resolved
	// by the runtime against the image's /etc/passwd when a name).
	User   string
	Mounts []Mount
	// MemoryLimitBytes and MilliCPULimit are the container's own limits,
	// zero for none (the pod's cgroup still bounds it).
	MemoryLimitBytes int64
	MilliCPULimit    int64
	// LogPath is the CRI log file the container's stdout and stderr go to
	// (/var/log/pods/NS_POD_UID/NAME/ATTEMPT.log); the shim writes it.
	LogPath string
	// Stdin keeps the container's stdin open for Attach (spec.stdin);
	// StdinOnce closes it when the first attached client detaches; TTY
	// gives the container a terminal (spec.tty), whose output is logged
	// as stdout.
	Stdin, StdinOnce, TTY bool
	// TerminationMessagePath, when set, is where in the container the
	// runtime puts an empty file anyone may write, as a kubelet mounts one
	// at terminationMessagePath; the end of it becomes the exited
	// attempt's TerminationMessage.
	TerminationMessagePath string
	// Security is what of the container's securityContext the runtime
	// enforces.
	Security Security
}

// Security is a container's securityContext as a runtime applies it; the
// node agent has already refused what Fargate does not allow (privileged,
// host namespaces, capabilities beyond the default set).
type Security struct {
	// ReadOnlyRootfs mounts the container's root filesystem read-only.
	ReadOnlyRootfs bool
	// NoNewPrivileges keeps setuid binaries and file capabilities from
	// raising the process's privileges (allowPrivilegeEscalation: false).
	NoNewPrivileges bool
	// SupplementalGroups are groups the process has beyond its user's own
	// (the pod's supplementalGroups and fsGroup).
	SupplementalGroups []uint32
	// AddCapabilities and DropCapabilities change the default set; names
	// as the API has them ("NET_RAW"), "ALL" dropping every one.
	AddCapabilities, DropCapabilities []string
	// Sysctls are set in the pod's namespaces before the process starts
	// (the pod's securityContext.sysctls, names with dots).
	Sysctls map[string]string
}

// MaxTerminationMessage is how much of the end of a termination message
// file a runtime reports: a kubelet's 4 KiB.
const MaxTerminationMessage = 4 << 10

// State is where a container is in its life.
type State string

const (
	StateCreated State = "created"
	StateRunning State = "running"
	StateExited  State = "exited"
	StateUnknown State = "unknown"
)

// ContainerStatus is what a Runtime knows of one container attempt.
type ContainerStatus struct {
	ID         string
	Name       string
	Attempt    int
	State      State
	Pid        int
	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int
	// Reason is set once exited: "Completed" (code 0), "OOMKilled" (the
	// kernel's OOM killer ended it), or "Error".
	Reason string
	// TerminationMessage is, once exited, the last MaxTerminationMessage
	// bytes of the file at ContainerConfig.TerminationMessagePath.
	TerminationMessage string `json:",omitempty"`
}

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	ExitCode int
	Output   []byte // stdout and stderr interleaved, at most 64 KiB
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct {
	Width, Height uint16
}

// Streams connect an exec or attach session to its client. A nil Stdin,
// Stdout or Stderr means the client did not ask for that stream. With
// TTY, the process gets a terminal, Stderr is unused and Resize carries
// the client's terminal size (the first value is the initial size).
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	Resize <-chan TerminalSize
}

// Usage is a cumulative CPU counter and a memory reading, as a kubelet
// reports them in its Summary API.
type Usage struct {
	// CPUUsageNanoseconds is the CPU time used since the cgroup was made.
	CPUUsageNanoseconds uint64
	// MemoryWorkingSetBytes is usage less inactive file pages, the figure
	// OOM decisions and `kubectl top` use; MemoryUsageBytes includes them.
	MemoryWorkingSetBytes uint64
	MemoryUsageBytes      uint64
	MemoryRSSBytes        uint64
	// At is when the reading was taken.
	At time.Time
}

// ContainerUsage is one running container attempt's Usage.
type ContainerUsage struct {
	Name      string
	ID        string
	StartedAt time.Time
	Usage
}

// PodUsage is a pod sandbox's Usage and that of its running containers.
type PodUsage struct {
	// StartedAt is when the sandbox was made.
	StartedAt  time.Time
	Usage      Usage
	Containers []ContainerUsage
}

// Runtime runs pods' sandboxes and containers on this host. Every method
// is safe for concurrent use, and every method that creates or removes is
// idempotent: the node agent calls again after errors and after it
// restarts. Processes started by a Runtime outlive the agent process
// (a shim per container owns its stdio and exit status), so a restarted
// agent adopts them through Pods and Containers.
type Runtime interface {
	// CreatePod makes the pod's sandbox: cgroup at the provisioned size,
	// IPC and UTS namespaces with the hostname, the pod files. It
	// returns once containers can start in it; if it exists, it returns nil.
	CreatePod(ctx context.Context, cfg PodConfig) error
	// StartContainer creates and starts one container attempt in the pod
	// and returns once its process runs (or failed to start: then an
	// error, and no process is left). The status has State running.
	StartContainer(ctx context.Context, podUID string, cfg ContainerConfig) (ContainerStatus, error)
	// Containers lists the pod's container attempts that still exist
	// (running or exited but not removed), with their status.
	Containers(ctx context.Context, podUID string) ([]ContainerStatus, error)
	// StopContainer sends SIGTERM, waits up to grace, then SIGKILL, and
	// returns once the process is gone. Stopping an exited container is
	// a no-op.
	StopContainer(ctx context.Context, podUID, id string, grace time.Duration) error
	// RemoveContainer removes an exited attempt: runtime state, root
	// filesystem mount and upper dir. Its log file stays.
	RemoveContainer(ctx context.Context, podUID, id string) error
	// Exec runs argv in the running container id and returns when it ends
	// or timeout passes (then the command is killed and an error returned).
	Exec(ctx context.Context, podUID, id string, argv []string, timeout time.Duration) (ExecResult, error)
	// RemovePod kills whatever still runs in the pod and removes every
	// trace of it the runtime made: processes, mounts, cgroups, state and
	// pod directories. Log files are not the runtime's to remove.
	RemovePod(ctx context.Context, podUID string) error
	// Pods lists the UIDs of the pods whose sandboxes exist on this host.
	Pods(ctx context.Context) ([]string, error)
	// ExecStream runs argv in the running container id, in its
	// namespaces and cgroup with its user and environment, connected to
	// s, and returns the command's exit code once it ended and its output
	// was copied. A command that cannot start (a missing binary) is an
	// error carrying the runtime's message. When ctx ends the command is
	// killed.
	ExecStream(ctx context.Context, podUID, id string, argv []string, s Streams) (exitCode int, err error)
	// Attach connects s to the running container id's main process: its
	// stdin (when the container was started with Stdin), its output from
	// now on, and its terminal size (with TTY). It returns when ctx ends,
	// the client's stdin ends, or the container exits.
	Attach(ctx context.Context, podUID, id string, s Streams) error
	// PortForward copies between stream and TCP port on the pod's own
	// loopback address until either side closes, then closes stream.
	PortForward(ctx context.Context, podUID string, port int32, stream io.ReadWriteCloser) error
	// Stats reads the CPU and memory use of the pod's sandbox and of its
	// running containers.
	Stats(ctx context.Context, podUID string) (PodUsage, error)
	// ReopenLog makes the writer of container id's log file reopen it,
	// after the file was renamed by log rotation.
	ReopenLog(ctx context.Context, podUID, id string) error
	// Exits delivers the status of each container attempt that exits
	// while the Runtime runs, once each; the node agent also polls
	// Containers, so a missed send is not lost.
	Exits() <-chan ContainerStatus
}
