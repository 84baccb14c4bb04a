package oci

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// agentRootEnv makes the test binary play an agent process that starts a
// pod with a chatty container, prints what it started, and waits to be
// killed (see runAgent).
const agentRootEnv = "FARGO_OCI_TEST_AGENT_ROOT"

type agentStarted struct {
	PodUID string `json:"podUID"`
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Log    string `json:"log"`
}

// runAgent is the agent process of TestContainersOutliveTheAgent.
func runAgent(root string) int {
	r, err := New(Config{Root: root, ShimPath: os.Getenv("FARGO_OCI_TEST_SHIM"), CgroupParent: "fargo-test"})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	pod := podConfig(os.Getenv("FARGO_OCI_TEST_NETNS"))
	ctx := context.Background()
	if err := r.CreatePod(ctx, pod); err != nil {
		fmt.Println(err)
		return 1
	}
	cfg := sandbox.ContainerConfig{
		Name: "chatty", Layers: []string{os.Getenv("FARGO_OCI_TEST_LAYER")},
		Args:    []string{"/bin/sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done"},
		LogPath: root + "/logs/chatty/0.log",
	}
	st, err := r.StartContainer(ctx, pod.UID, cfg)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(agentStarted{PodUID: pod.UID, ID: st.ID, Pid: st.Pid, Log: cfg.LogPath})
	select {}
}

func TestContainersOutliveTheAgent(t *testing.T) {
	root := t.TempDir()
	agent := exec.Command(os.Args[0], "-test.run=^$")
	agent.Env = append(os.Environ(), agentRootEnv+"="+root, "FARGO_OCI_TEST_SHIM="+shimPath,
		"FARGO_OCI_TEST_NETNS="+testNetns(t), "FARGO_OCI_TEST_LAYER="+busyboxLayer(t))
	out, err := agent.StdoutPipe()
	must(t, err)
	must(t, agent.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	var started agentStarted
	if err != nil || json.Unmarshal([]byte(line), &started) != nil {
		agent.Process.Kill()
		t.Fatalf("agent process: %q, %v", line, err)
	}
	// The agent dies hard, as on an OOM kill or a crash.
	must(t, agent.Process.Signal(syscall.SIGKILL))
	agent.Wait()

	r := newRuntimeAt(t, root, "runc")
	list, err := r.Containers(context.Background(), started.PodUID)
	must(t, err)
	if len(list) != 1 || list[0].State != sandbox.StateRunning || list[0].Pid != started.Pid {
		t.Fatalf("after the agent died, Containers = %+v, want %s running with pid %d", list, started.ID, started.Pid)
	}
	if err := syscall.Kill(started.Pid, 0); err != nil {
		t.Fatalf("container process %d is gone: %v", started.Pid, err)
	}
	before := fileSize(t, started.Log)
	time.Sleep(600 * time.Millisecond)
	if after := fileSize(t, started.Log); after <= before {
		t.Fatalf("log stopped growing after the agent died: %d then %d bytes", before, after)
	}
	must(t, r.StopContainer(context.Background(), started.PodUID, started.ID, time.Second))
	exit := waitExit(t, r, started.ID, 10*time.Second)
	// sh as pid 1 has no TERM handler, so it is killed after the grace.
	if exit.ExitCode != 137 || exit.Reason != "Error" {
		t.Fatalf("adopted container's exit = %+v, want 137 Error", exit)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	must(t, err)
	return fi.Size()
}

func TestStopContainerHonoursGrace(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	for _, tc := range []struct {
		name, script   string
		grace          time.Duration
		minTook        time.Duration
		maxTook        time.Duration
		code           int
		reason, logged string
	}{
		{"traps TERM", `trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done`, 10 * time.Second, 0, 3 * time.Second, 0, "Completed", "stdout F bye"},
		{"ignores TERM", `trap '' TERM; while true; do sleep 0.1; done`, time.Second, time.Second, 4 * time.Second, 137, "Error", ""},
		{"no grace", `while true; do sleep 0.1; done`, 0, 0, 2 * time.Second, 137, "Error", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := shellContainer(t, layer, strings.ReplaceAll(tc.name, " ", "-"), tc.script)
			st := startContainer(t, r, pod.UID, cfg)
			time.Sleep(200 * time.Millisecond) // let the trap be set
			began := time.Now()
			must(t, r.StopContainer(context.Background(), pod.UID, st.ID, tc.grace))
			took := time.Since(began)
			if took < tc.minTook || took > tc.maxTook {
				t.Errorf("StopContainer took %v, want %v to %v", took, tc.minTook, tc.maxTook)
			}
			list, err := r.Containers(context.Background(), pod.UID)
			must(t, err)
			for _, c := range list {
				if c.ID == st.ID && (c.State != sandbox.StateExited || c.ExitCode != tc.code || c.Reason != tc.reason) {
					t.Errorf("after StopContainer: %+v, want exited %d %s", c, tc.code, tc.reason)
				}
			}
			if tc.logged != "" {
				if got := readCRILog(t, cfg.LogPath); len(got) != 1 || got[0] != tc.logged {
					t.Errorf("log = %q, want %q", got, tc.logged)
				}
			}
			// Stopping again is a no-op.
			must(t, r.StopContainer(context.Background(), pod.UID, st.ID, tc.grace))
		})
	}
}

func TestExec(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	st := startContainer(t, r, pod.UID, shellContainer(t, layer, "app", "exec sleep 1000"))
	for _, tc := range []struct {
		name    string
		argv    []string
		timeout time.Duration
		code    int
		output  string
		wantErr string
	}{
		{"output and code", []string{"sh", "-c", "echo out; echo err >&2; exit 4"}, 10 * time.Second, 4, "out\nerr\n", ""},
		{"zero", []string{"true"}, 10 * time.Second, 0, "", ""},
		{"output capped", []string{"sh", "-c", "yes | head -c 100000"}, 10 * time.Second, 0, strings.Repeat("y\n", 32<<10), ""},
		{"timeout kills", []string{"sh", "-c", "echo started; exec sleep 100"}, 2 * time.Second, -1, "started\n", "timed out"},
		{"missing binary", []string{"/nope"}, 10 * time.Second, 255, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			res, err := r.Exec(context.Background(), pod.UID, st.ID, tc.argv, tc.timeout)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if took := time.Since(began); took > tc.timeout+3*time.Second {
					t.Fatalf("Exec returned after %v, timeout %v", took, tc.timeout)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.code {
				t.Errorf("code = %d, want %d (output %q)", res.ExitCode, tc.code, res.Output)
			}
			// runc copies the two streams in separate goroutines: lines of
			// different streams may swap.
			if tc.code != 255 && sortedLines(string(res.Output)) != sortedLines(tc.output) {
				t.Errorf("output = %q (%d bytes), want %d bytes", res.Output[:min(len(res.Output), 100)], len(res.Output), len(tc.output))
			}
		})
	}
	t.Run("timed-out command is gone", func(t *testing.T) {
		if got := execOK(t, r, pod.UID, st.ID, "sh", "-c", "ps -o args | grep -c '^sleep 100$' || true"); got != "0" {
			t.Fatalf("sleep 100 still runs in the container (%s)", got)
		}
	})
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func TestShimKilled(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	st := startContainer(t, r, pod.UID, shellContainer(t, layer, "app", "exec sleep 1000"))
	state, err := r.readState(pod.UID, st.ID)
	must(t, err)
	must(t, syscall.Kill(state.Shim.Pid, syscall.SIGKILL))
	if !state.Shim.waitGone(5 * time.Second) {
		t.Fatal("shim did not die")
	}
	// The container runs on without its shim.
	list, err := r.Containers(context.Background(), pod.UID)
	must(t, err)
	if len(list) != 1 || list[0].State != sandbox.StateRunning {
		t.Fatalf("with the shim killed, Containers = %+v, want it running", list)
	}
	// Its exit code is lost with the shim: it is reported as 255, Error.
	must(t, syscall.Kill(state.Process.Pid, syscall.SIGKILL))
	exit := waitExit(t, r, st.ID, 10*time.Second)
	if exit.State != sandbox.StateExited || exit.ExitCode != 255 || exit.Reason != "Error" {
		t.Fatalf("exit = %+v, want exited 255 Error", exit)
	}
}
