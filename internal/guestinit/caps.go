package guestinit

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// capNames are the capabilities by the names the Kubernetes API uses.
var capNames = map[string]uint{
	"CHOWN": unix.CAP_CHOWN, "DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE, "DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH,
	"FOWNER": unix.CAP_FOWNER, "FSETID": unix.CAP_FSETID, "KILL": unix.CAP_KILL, "SETGID": unix.CAP_SETGID,
	"SETUID": unix.CAP_SETUID, "SETPCAP": unix.CAP_SETPCAP, "LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE,
	"NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "NET_BROADCAST": unix.CAP_NET_BROADCAST,
	"NET_ADMIN": unix.CAP_NET_ADMIN, "NET_RAW": unix.CAP_NET_RAW, "IPC_LOCK": unix.CAP_IPC_LOCK,
	"IPC_OWNER": unix.CAP_IPC_OWNER, "SYS_MODULE": unix.CAP_SYS_MODULE, "SYS_RAWIO": unix.CAP_SYS_RAWIO,
	"SYS_CHROOT": unix.CAP_SYS_CHROOT, "SYS_PTRACE": unix.CAP_SYS_PTRACE, "SYS_PACCT": unix.CAP_SYS_PACCT,
	"SYS_ADMIN": unix.CAP_SYS_ADMIN, "SYS_BOOT": unix.CAP_SYS_BOOT, "SYS_NICE": unix.CAP_SYS_NICE,
	"SYS_RESOURCE": unix.CAP_SYS_RESOURCE, "SYS_TIME": unix.CAP_SYS_TIME, "SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG,
	"MKNOD": unix.CAP_MKNOD, "LEASE": unix.CAP_LEASE, "AUDIT_WRITE": unix.CAP_AUDIT_WRITE,
	"AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL, "SETFCAP": unix.CAP_SETFCAP, "MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE,
	"MAC_ADMIN": unix.CAP_MAC_ADMIN, "SYSLOG": unix.CAP_SYSLOG, "WAKE_ALARM": unix.CAP_WAKE_ALARM,
	"BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND, "AUDIT_READ": unix.CAP_AUDIT_READ, "PERFMON": unix.CAP_PERFMON,
	"BPF": unix.CAP_BPF, "CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// defaultCaps is the set container runtimes give by default.
var defaultCaps = []string{"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
	"SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"}

// capSet is the default set changed by add and drop ("ALL" in drop
// empties it first).
func capSet(add, drop []string) ([]uint, error) {
	set := map[uint]bool{}
	for _, n := range defaultCaps {
		set[capNames[n]] = true
	}
	for _, n := range drop {
		n = strings.TrimPrefix(strings.ToUpper(n), "CAP_")
		if n == "ALL" {
			set = map[uint]bool{}
			continue
		}
		c, ok := capNames[n]
		if !ok {
			return nil, fmt.Errorf("unknown capability %q", n)
		}
		delete(set, c)
	}
	for _, n := range add {
		c, ok := capNames[strings.TrimPrefix(strings.ToUpper(n), "CAP_")]
		if !ok {
			return nil, fmt.Errorf("unknown capability %q", n)
		}
		set[c] = true
	}
	out := make([]uint, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	return out, nil
}

// boundCapabilities drops every capability not in keep from the bounding
// set, so nothing the container execs can gain it.
func boundCapabilities(keep []uint) error {
	want := map[uint]bool{}
	for _, c := range keep {
		want[c] = true
	}
	for c := uint(0); c <= unix.CAP_LAST_CAP; c++ {
		if !want[c] {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
				return fmt.Errorf("drop capability %d: %w", c, err)
			}
		}
	}
	return nil
}

// setCapabilities makes keep the effective, permitted and inheritable
// sets. A non-root user loses them at exec, as with any container
// runtime: it has the bounding set only.
func setCapabilities(keep []uint) error {
	var data [2]unix.CapUserData
	for _, c := range keep {
		data[c/32].Effective |= 1 << (c % 32)
		data[c/32].Permitted |= 1 << (c % 32)
		data[c/32].Inheritable |= 1 << (c % 32)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
