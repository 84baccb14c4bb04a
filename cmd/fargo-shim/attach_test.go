package main

import (
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/shim"
)

// TestRunAttach attaches to a container whose stdin the shim holds: what
// the client sends reaches the container, its output reaches the client
// and the log, and with --stdin-once the end of the client's stdin ends
// the container's, after which the shim writes the exit and closes.
func TestRunAttach(t *testing.T) {
	run := startShim(t, "cat; echo done >&2", "", "--stdin", "--stdin-once", "--attach-socket", "attach.sock")
	if run.report.Error != "" {
		t.Fatalf("start: %s", run.report.Error)
	}
	// A relative socket path is in the shim's working directory.
	conn, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: filepath.Join(run.dir, "attach.sock"), Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write(shim.AttachHello(true))
	buf := make([]byte, shim.MaxAttachPacket+1)
	n, err := conn.Read(buf)
	if info, perr := shim.ParseAttachAnswer(buf[:n]); err != nil || perr != nil || !info.Stdin || !info.StdinOnce {
		t.Fatalf("answer %q (%v, %v), want stdin and stdin-once", buf[:n], err, perr)
	}
	conn.Write(append([]byte{shim.AttachStdin}, "hello\n"...))
	conn.Write([]byte{shim.AttachCloseStdin})
	var stdout, stderr strings.Builder
	for {
		n, err := conn.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read: %v (stdout so far %q)", err, stdout.String())
		}
		map[byte]*strings.Builder{shim.AttachStdout: &stdout, shim.AttachStderr: &stderr}[buf[0]].Write(buf[1:n])
	}
	if stdout.String() != "hello\n" || stderr.String() != "done\n" {
		t.Fatalf("client got stdout %q stderr %q, want hello and done", stdout.String(), stderr.String())
	}
	if err := run.cmd.Wait(); err != nil {
		t.Fatalf("shim: %v", err)
	}
	// stdout and stderr are copied by their own readers: the log holds
	// both lines, in either order.
	entries := logEntries(t, run.logPath)
	slices.Sort(entries)
	if got := strings.Join(entries, "|"); got != "stderr F done|stdout F hello" {
		t.Fatalf("log %q", got)
	}
}
