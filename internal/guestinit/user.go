package guestinit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func nowUTC() time.Time { return time.Now().UTC() }

// resolveUser reads "UID", "UID:GID", "name" or "name:group" against the
// image's /etc/passwd and /etc/group, as a container runtime does: the
// user's primary group and the groups that list it, and its home.
func resolveUser(root, user string) (uid, gid uint32, groups []uint32, home string, err error) {
	home = "/"
	name, group, hasGroup := strings.Cut(user, ":")
	var uname string
	if name == "" {
		name = "0"
	}
	entries := readColonFile(filepath.Join(root, "etc/passwd"))
	if n, perr := strconv.ParseUint(name, 10, 32); perr == nil {
		uid = uint32(n)
		for _, e := range entries {
			if len(e) >= 6 && e[2] == name {
				gid, home, uname = atou(e[3]), e[5], e[0]
				break
			}
		}
	} else {
		found := false
		for _, e := range entries {
			if len(e) >= 6 && e[0] == name {
				uid, gid, home, uname, found = atou(e[2]), atou(e[3]), e[5], e[0], true
				break
			}
		}
		if !found {
			return 0, 0, nil, "", fmt.Errorf("unable to find user %s: no matching entries in passwd file", name)
		}
	}
	if hasGroup {
		if n, perr := strconv.ParseUint(group, 10, 32); perr == nil {
			gid = uint32(n)
		} else if g, ok := groupID(root, group); ok {
			gid = g
		} else {
			return 0, 0, nil, "", fmt.Errorf("unable to find group %s: no matching entries in group file", group)
		}
	}
	for _, e := range readColonFile(filepath.Join(root, "etc/group")) {
		if len(e) >= 4 && uname != "" && contains(strings.Split(e[3], ","), uname) {
			groups = append(groups, atou(e[2]))
		}
	}
	return uid, gid, groups, home, nil
}

func groupID(root, name string) (uint32, bool) {
	for _, e := range readColonFile(filepath.Join(root, "etc/group")) {
		if len(e) >= 3 && e[0] == name {
			return atou(e[2]), true
		}
	}
	return 0, false
}

func readColonFile(path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, strings.Split(line, ":"))
		}
	}
	return out
}

func atou(s string) uint32 { n, _ := strconv.ParseUint(s, 10, 32); return uint32(n) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// withHome adds HOME when the container's environment has none.
func withHome(env []string, home string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env
		}
	}
	return append(append([]string(nil), env...), "HOME="+home)
}
