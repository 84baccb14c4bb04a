package oci

import (
	"maps"
	"os"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// defaultCaps are the capabilities a container's root gets: Docker's and
// containerd's default set (CapEff 00000000a80425fb).
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

var maskedPaths = []string{
	"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

var readonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

const ociVersion = "1.0.2"

// defaultPath is the PATH a container gets when its image sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Soft and hard limits of RLIMIT_NOFILE and RLIMIT_NPROC in containers.
const (
	rlimitSoft = 1024
	rlimitHard = 65535
)

// specInput is everything a container's config.json is made from.
type specInput struct {
	cfg  sandbox.ContainerConfig
	pod  podRecord
	user specs.User
	// namespaces are the pod's IPC and UTS namespaces to join, by kind.
	namespaces map[string]string
	cgroup     string // the container's cgroup path
	// ownUTS gives the container its own UTS namespace with the pod's
	// hostname instead of joining the pod's: runsc cannot join one.
	ownUTS bool
}

// buildSpec makes the container's OCI configuration, after containerd's
// default Linux spec as the CRI plugin fills it for a pod.
func buildSpec(in specInput) *specs.Spec {
	return &specs.Spec{
		// 1.0.2: the fields used are all in it, and crun 1.8 refuses
		// versions it does not know.
		Version:  ociVersion,
		Root:     &specs.Root{Path: "rootfs", Readonly: in.cfg.Security.ReadOnlyRootfs},
		Process:  buildProcess(in),
		Mounts:   buildMounts(in),
		Hostname: hostname(in),
		Linux: &specs.Linux{
			CgroupsPath:   in.cgroup,
			Namespaces:    buildNamespaces(in),
			Resources:     buildResources(in),
			MaskedPaths:   maskedPaths,
			ReadonlyPaths: readonlyPaths,
			Sysctl:        in.cfg.Security.Sysctls,
		},
	}
}

// hostname is set only in a UTS namespace of the container's own.
func hostname(in specInput) string {
	if in.ownUTS {
		return in.pod.Hostname
	}
	return ""
}

func buildProcess(in specInput) *specs.Process {
	env := append([]string{}, in.cfg.Env...)
	if !hasEnv(env, "PATH") {
		env = append([]string{defaultPath}, env...)
	}
	if !hasEnv(env, "HOSTNAME") {
		env = append(env, "HOSTNAME="+in.pod.Hostname)
	}
	// As containerd does for a container with a terminal.
	if in.cfg.TTY && !hasEnv(env, "TERM") {
		env = append(env, "TERM=xterm")
	}
	cwd := in.cfg.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	// As containerd and Docker do, a non-root user keeps the bounding set
	// but starts with no effective or permitted capabilities.
	set := capabilities(in.cfg.Security)
	caps := &specs.LinuxCapabilities{Bounding: set}
	if in.user.UID == 0 {
		caps.Effective, caps.Permitted = set, set
	}
	user := in.user
	user.AdditionalGids = appendNew(user.AdditionalGids, in.cfg.Security.SupplementalGroups...)
	// OOMScoreAdj stays unset: setting it needs CAP_SYS_RESOURCE, which a
	// host agent in a container may not have.
	// The shim receives the terminal (process.terminal) on its console
	// socket and holds it, as it holds a stdin pipe (cfg.Stdin).
	return &specs.Process{
		Terminal:        in.cfg.TTY,
		Args:            in.cfg.Args,
		Env:             env,
		Cwd:             cwd,
		User:            user,
		Capabilities:    caps,
		Rlimits:         defaultRlimits(),
		NoNewPrivileges: in.cfg.Security.NoNewPrivileges,
	}
}

// capabilities is the default set with sec's additions and drops, as
// containerd's CRI plugin works it out.
func capabilities(sec sandbox.Security) []string {
	set := map[string]bool{}
	for _, c := range defaultCaps {
		set[c] = true
	}
	for _, c := range sec.AddCapabilities {
		set[capName(c)] = true
	}
	for _, c := range sec.DropCapabilities {
		if strings.EqualFold(c, "ALL") {
			clear(set)
			continue
		}
		delete(set, capName(c))
	}
	out := make([]string, 0, len(set))
	for _, c := range defaultCaps {
		if set[c] {
			out = append(out, c)
			delete(set, c)
		}
	}
	return append(out, slices.Sorted(maps.Keys(set))...)
}

// capName writes a capability as the OCI spec does: CAP_NET_RAW.
func capName(c string) string {
	c = strings.ToUpper(c)
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

// appendNew appends the IDs that ids lacks.
func appendNew(ids []uint32, more ...uint32) []uint32 {
	for _, id := range more {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// defaultRlimits are RLIMIT_NOFILE and RLIMIT_NPROC at 1024 soft and
// 65535 hard, the hard limit lowered to this process's own when that is
// below: raising a hard limit needs CAP_SYS_RESOURCE.
func defaultRlimits() []specs.POSIXRlimit {
	var out []specs.POSIXRlimit
	for _, l := range []struct {
		name     string
		resource int
	}{{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE}, {"RLIMIT_NPROC", unix.RLIMIT_NPROC}} {
		hard := uint64(rlimitHard)
		var own unix.Rlimit
		if unix.Getrlimit(l.resource, &own) == nil && own.Max < hard {
			hard = own.Max
		}
		out = append(out, specs.POSIXRlimit{Type: l.name, Soft: min(rlimitSoft, hard), Hard: hard})
	}
	return out
}

func buildMounts(in specInput) []specs.Mount {
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		// The pod's /dev/shm is one tmpfs shared by its containers, as
		// they share its IPC namespace.
		{Destination: "/dev/shm", Type: "bind", Source: in.pod.ShmDir, Options: []string{"rbind", "rprivate", "nosuid", "nodev", "noexec"}},
	}
	for dest, host := range in.pod.Files {
		mounts = append(mounts, specs.Mount{Destination: dest, Type: "bind", Source: host, Options: []string{"rbind", "rprivate"}})
	}
	for _, m := range in.cfg.Mounts {
		opts := []string{"rbind", "rprivate"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		mounts = append(mounts, specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: opts})
	}
	return mounts
}

func buildNamespaces(in specInput) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.IPCNamespace, Path: in.namespaces["ipc"]},
	}
	if in.ownUTS {
		ns = append(ns, specs.LinuxNamespace{Type: specs.UTSNamespace})
	} else {
		ns = append(ns, specs.LinuxNamespace{Type: specs.UTSNamespace, Path: in.namespaces["uts"]})
	}
	// Without a prepared namespace the container gets an empty one of its
	// own, never the host's network.
	ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: in.pod.NetnsPath})
	if _, err := os.Stat("/proc/self/ns/cgroup"); err == nil {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

func buildResources(in specInput) *specs.LinuxResources {
	res := &specs.LinuxResources{Devices: defaultDeviceRules()}
	if limit := in.cfg.MemoryLimitBytes; limit > 0 {
		if in.pod.MemoryBytes > 0 {
			limit = min(limit, in.pod.MemoryBytes)
		}
		// Swap equal to the limit means no swap (v1 memsw; v2 swap.max 0).
		res.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
	}
	if milli := in.cfg.MilliCPULimit; milli > 0 {
		// A v1 child's quota may not exceed its parent's.
		if in.pod.MilliCPU > 0 {
			milli = min(milli, in.pod.MilliCPU)
		}
		quota, period := milli*cfsPeriod/1000, uint64(cfsPeriod)
		shares := uint64(cpuShares(milli))
		res.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period, Shares: &shares}
	}
	return res
}

// defaultDeviceRules deny every device but the ones every container
// gets (runc adds the same; spelled out for crun and runsc).
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	// A nil minor is every minor (crun rejects runc's -1).
	char := func(major int64, minor *int64) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: minor, Access: "rwm"}
	}
	n := func(v int64) *int64 { return &v }
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		char(1, n(3)),  // null
		char(1, n(5)),  // zero
		char(1, n(7)),  // full
		char(1, n(8)),  // random
		char(1, n(9)),  // urandom
		char(5, n(0)),  // tty
		char(5, n(2)),  // ptmx
		char(136, nil), // pts/*
	}
}
