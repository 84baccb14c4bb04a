package oci

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// processRef names one process across pid reuse: its pid and its start
// time in clock ticks since boot (/proc/PID/stat field 22).
type processRef struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// refOf returns the processRef of a live pid.
func refOf(pid int) (processRef, error) {
	start, err := procStartTime(pid)
	if err != nil {
		return processRef{}, err
	}
	return processRef{Pid: pid, Start: start}, nil
}

func procStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted from the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, s)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, s)
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return 0, os.ErrNotExist
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// alive says whether the process still runs (a zombie does not count).
func (p processRef) alive() bool {
	if p.Pid <= 0 {
		return false
	}
	start, err := procStartTime(p.Pid)
	return err == nil && start == p.Start
}

// kill signals the process if it is still the one p names.
func (p processRef) kill(sig syscall.Signal) error {
	if !p.alive() {
		return nil
	}
	if err := unix.Kill(p.Pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}

// waitGone polls until the process has ended, at most d; it reports
// whether it did.
func (p processRef) waitGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for p.alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
