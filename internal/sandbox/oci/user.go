package oci

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// resolveUser turns a container's user ("", "UID", "UID:GID", "NAME",
// "NAME:GROUP") into numeric IDs, reading the image's /etc/passwd and
// /etc/group as mounted at rootfs. As containerd does, the process's
// supplementary groups are its primary group and, for a user found in
// /etc/passwd, the groups that list it.
func resolveUser(rootfs, user string) (specs.User, error) {
	userPart, groupPart, hasGroup := strings.Cut(user, ":")
	if userPart == "" {
		userPart = "0"
	}
	passwd := readImageFile(rootfs, "etc/passwd")
	groups := readImageFile(rootfs, "etc/group")
	entry, found := lookupPasswd(passwd, userPart)
	var u specs.User
	if uid, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		u.UID = uint32(uid)
	} else if found {
		u.UID = entry.uid
	} else {
		return u, fmt.Errorf("oci: user %q is not in the image's /etc/passwd: use a numeric UID (runAsUser)", userPart)
	}
	if found {
		u.GID = entry.gid
	}
	if hasGroup {
		gid, err := lookupGroup(groups, groupPart)
		if err != nil {
			return u, err
		}
		u.GID = gid
	}
	u.AdditionalGids = []uint32{u.GID}
	if found {
		u.AdditionalGids = append(u.AdditionalGids, memberGroups(groups, entry.name, u.GID)...)
	}
	return u, nil
}

// readImageFile reads a file of the image, resolving symlinks inside
// rootfs so that an image cannot make the host's files read. Missing or
// unreadable files read as empty.
func readImageFile(rootfs, name string) []byte {
	root, err := os.Open(rootfs)
	if err != nil {
		return nil
	}
	defer root.Close()
	fd, err := unix.Openat2(int(root.Fd()), name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, 4<<20))
	return data
}

type passwdEntry struct {
	name     string
	uid, gid uint32
}

// lookupPasswd finds a user by name or numeric UID.
func lookupPasswd(passwd []byte, user string) (passwdEntry, bool) {
	sc := bufio.NewScanner(bytes.NewReader(passwd))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		if f[0] == user || f[2] == user {
			return passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)}, true
		}
	}
	return passwdEntry{}, false
}

// lookupGroup resolves a group name or numeric GID.
func lookupGroup(groups []byte, group string) (uint32, error) {
	if gid, err := strconv.ParseUint(group, 10, 32); err == nil {
		return uint32(gid), nil
	}
	sc := bufio.NewScanner(bytes.NewReader(groups))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 3 && f[0] == group {
			gid, err := strconv.ParseUint(f[2], 10, 32)
			if err == nil {
				return uint32(gid), nil
			}
		}
	}
	return 0, errors.New("oci: group " + strconv.Quote(group) + " is not in the image's /etc/group: use a numeric GID (runAsGroup)")
}

// memberGroups lists the GIDs of the groups naming user as a member,
// other than its primary group.
func memberGroups(groups []byte, user string, primary uint32) []uint32 {
	var gids []uint32
	sc := bufio.NewScanner(bytes.NewReader(groups))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil || uint32(gid) == primary {
			continue
		}
		for _, member := range strings.Split(f[3], ",") {
			if member == user {
				gids = append(gids, uint32(gid))
				break
			}
		}
	}
	return gids
}
