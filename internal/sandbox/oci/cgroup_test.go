package oci

import (
	"reflect"
	"strings"
	"testing"
)

const hybridMountinfo = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
41 22 0:38 / /mnt/with\040space rw - ext4 /dev/vdb rw
`

const unifiedMountinfo = `25 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

func TestParseCgroupLayout(t *testing.T) {
	for _, tc := range []struct {
		name, mountinfo string
		want            cgroupLayout
		wantErr         string
	}{
		{"hybrid v1", hybridMountinfo, cgroupLayout{
			v1: map[string]string{
				"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
				"cpuset": "/sys/fs/cgroup/cpuset", "memory": "/sys/fs/cgroup/memory",
				"pids": "/sys/fs/cgroup/pids", "name=systemd": "/sys/fs/cgroup/systemd",
			},
			mounts: []string{"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/memory",
				"/sys/fs/cgroup/pids", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"},
		}, ""},
		{"pure v2", unifiedMountinfo, cgroupLayout{
			unified: true, v2Root: "/sys/fs/cgroup", v1: map[string]string{}, mounts: []string{"/sys/fs/cgroup"},
		}, ""},
		{"no cgroups", "41 22 0:38 / /mnt rw - ext4 /dev/vdb rw\n", cgroupLayout{}, "no cgroup v1 cpu hierarchy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCgroupLayout(strings.NewReader(tc.mountinfo), func(p string) bool {
				return p == "/sys/fs/cgroup/cgroup.controllers" && strings.Contains(tc.mountinfo, "cgroup2 cgroup2 rw,nsdelegate")
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("layout = %+v\nwant     %+v", *got, tc.want)
			}
		})
	}
}

func TestCgroupDirs(t *testing.T) {
	hybrid := &cgroupLayout{v1: map[string]string{
		"cpu": "/cg/cpu,cpuacct", "cpuacct": "/cg/cpu,cpuacct", "memory": "/cg/memory", "pids": "/cg/pids"}}
	unified := &cgroupLayout{unified: true, v2Root: "/cg"}
	for _, tc := range []struct {
		name   string
		layout *cgroupLayout
		want   []string
	}{
		{"v1 co-mounted cpu,cpuacct once", hybrid, []string{"/cg/cpu,cpuacct/fargo/pod-1", "/cg/memory/fargo/pod-1", "/cg/pids/fargo/pod-1"}},
		{"v2", unified, []string{"/cg/fargo/pod-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.layout.dirs("/fargo/pod-1"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("dirs = %v, want %v", got, tc.want)
			}
		})
	}
}
