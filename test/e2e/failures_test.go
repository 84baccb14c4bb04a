package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// runUntilExit runs fargo with args and returns its output and exit error;
// a start that should fail must fail within a minute.
func runUntilExit(t *testing.T, cred *syscall.Credential, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("fargo %s did not exit within a minute:\n%s", strings.Join(args, " "), out)
	}
	return string(out), err
}

// TestServerRefusesBadStarts checks that each way a start can go wrong ends
// with a non-zero exit and one line naming the cause and the fix, and leaves
// the data dir as it was.
func TestServerRefusesBadStarts(t *testing.T) {
	harness.RequireRoot(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	unwritable := filepath.Join(t.TempDir(), "root-only")
	if err := os.Mkdir(unwritable, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		dir     func(t *testing.T) string
		args    []string
		cred    *syscall.Credential
		want    []string
	}{
		{name: "port taken", args: []string{"--https-listen-port", takenPort},
			want: []string{"port " + takenPort + " is not free", "--https-listen-port"}},
		{name: "data dir of a newer fargo", prepare: writeFile("fargo.json", `{"format":99,"clusterID":"x","fargo":"v9"}`),
			want: []string{"newer fargo", "another --data-dir"}},
		{name: "damaged identity", prepare: writeFile("fargo.json", `{not json`),
			want: []string{"is damaged", "restore it from a backup"}},
		{name: "data dir from a newer Kubernetes", prepare: writeFile("fargo.json", `{"format":1,"clusterID":"x","kubernetes":"v1.99.0"}`),
			want: []string{"Kubernetes v1.99.0", "cannot downgrade"}},
		{name: "foreign data dir", prepare: writeFile("etcd/member/x", ""),
			want: []string{"no fargo.json", "empty --data-dir"}},
		{name: "unreachable external etcd", args: []string{"--datastore-endpoint", "https://127.0.0.1:" + strconv.Itoa(harness.FreePort(t))},
			want: []string{"cannot reach etcd", "--datastore-endpoint"}},
		{name: "cluster DNS outside service CIDR", args: []string{"--cluster-dns", "10.0.0.10"},
			want: []string{"--cluster-dns", "inside --service-cidr"}},
		{name: "no permission on data dir", dir: func(*testing.T) string { return filepath.Join(unwritable, "data") },
			cred: &syscall.Credential{Uid: 65534, Gid: 65534}, want: []string{"cannot write data dir", "--data-dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.dir != nil {
				dir = tt.dir(t)
			}
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			before := snapshot(t, dir)
			srv := harness.NewServer(t, "server", dir, tt.args...)
			out, err := runUntilExit(t, tt.cred, srv.Args...)
			if err == nil {
				t.Fatalf("fargo server succeeded, want an error; output:\n%s", out)
			}
			last := lastLine(out)
			if !strings.HasPrefix(last, "fargo: ") {
				t.Errorf("last line %q is not fargo's one-line error", last)
			}
			for _, w := range tt.want {
				if !strings.Contains(last, w) {
					t.Errorf("error %q lacks %q", last, w)
				}
			}
			if after := snapshot(t, dir); !contains(after, before) {
				t.Errorf("data dir changed by a failed start:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestServerRefusesSecondServerOnDataDir and another cluster's etcd use the
// shared server: its data dir is locked, and its etcd belongs to it.
func TestServerRefusesToShareState(t *testing.T) {
	srv := shared(t)
	pki := filepath.Join(srv.DataDir, "pki")
	etcdPort := argAfter(srv.Args, "--etcd-client-port")
	tests := []struct {
		name string
		dir  string
		args []string
		want []string
	}{
		{"data dir in use", srv.DataDir, nil, []string{"in use by another fargo server", "another --data-dir"}},
		{"etcd of another cluster", t.TempDir(), []string{"--datastore-endpoint", "https://127.0.0.1:" + etcdPort,
			"--datastore-cafile", filepath.Join(pki, "etcd-ca.crt"),
			"--datastore-certfile", filepath.Join(pki, "apiserver-etcd-client.crt"),
			"--datastore-keyfile", filepath.Join(pki, "apiserver-etcd-client.key")},
			[]string{"belongs to fargo cluster", "an empty etcd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := harness.NewServer(t, "server", tt.dir, tt.args...)
			out, err := runUntilExit(t, nil, other.Args...)
			if err == nil {
				t.Fatalf("second fargo server succeeded:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(lastLine(out), w) {
					t.Errorf("error %q lacks %q", lastLine(out), w)
				}
			}
		})
	}
	if out, err := srv.Kubectl(t, "get", "ns", "default"); err != nil {
		t.Fatalf("shared server hurt by the refused starts: %v\n%s", err, out)
	}
}

// TestInterruptedStartIsResumed stops a server with SIGINT in the middle of
// its start; the next start on the same data dir must come up.
func TestInterruptedStartIsResumed(t *testing.T) {
	harness.RequireRoot(t)
	dir := t.TempDir()
	srv := harness.NewServer(t, "up", dir)
	cmd := exec.Command(harness.Binary(t), srv.Args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once etcd holds data but before the apiserver is ready.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "etcd ready"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no etcd ready line:\n%s", out.String())
		}
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("fargo up ignored SIGINT during start:\n%s", out.String())
	}
	srv.Start(t)
	if got, err := srv.Kubectl(t, "get", "ns", "kube-system"); err != nil {
		t.Fatalf("after an interrupted start: %v\n%s", err, got)
	}
	srv.Stop(t)
}

// TestKubectlDefaultsToDataDir: without --kubeconfig, fargo kubectl uses the
// admin kubeconfig of $FARGO_DATA_DIR.
func TestKubectlDefaultsToDataDir(t *testing.T) {
	srv := shared(t)
	cmd := exec.Command(harness.Binary(t), "kubectl", "get", "ns", "default", "-o", "name")
	cmd.Env = append(os.Environ(), "FARGO_DATA_DIR="+srv.DataDir, "KUBECONFIG=")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "namespace/default" {
		t.Fatalf("fargo kubectl with FARGO_DATA_DIR: %v: %q", err, out)
	}
}

func writeFile(name, content string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot maps each regular file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			data, _ := os.ReadFile(path)
			files[path] = string(data)
		}
		return nil
	})
	return files
}

// contains tells whether every file of before is still in after, unchanged.
// A failed start may add its lock, log or empty directories, but must not
// change or remove anything that was there.
func contains(after, before map[string]string) bool {
	for path, data := range before {
		if after[path] != data {
			return false
		}
	}
	return true
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func argAfter(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
