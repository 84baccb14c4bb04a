package cli

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/profileclient"
)

// newFake returns a fake cluster holding profiles.
func newFake(t *testing.T, profiles ...*v1.FargateProfile) *fake.FakeDynamicClient {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objs := make([]runtime.Object, 0, len(profiles))
	for _, p := range profiles {
		u, err := profileclient.ToUnstructured(p)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	return fake.NewSimpleDynamicClient(scheme, objs...)
}

// settle plays fargo's profile controller: every created profile is
// stored in state at once.
func settle(dyn *fake.FakeDynamicClient, state v1.ProfileState, message string) {
	dyn.PrependReactor("create", v1.Plural, func(action clienttesting.Action) (bool, runtime.Object, error) {
		obj := action.(clienttesting.CreateAction).GetObject().(*unstructured.Unstructured)
		_ = unstructured.SetNestedField(obj.Object, map[string]any{"status": string(state), "message": message}, "status")
		return false, nil, nil
	})
}

// refuse makes every action of verb fail with err, as an admission webhook
// or an unreachable server would.
func refuse(dyn *fake.FakeDynamicClient, verb string, err error) {
	dyn.PrependReactor(verb, v1.Plural, func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, err
	})
}

// execute runs a verb (create, get, delete) with args against dyn.
func execute(t *testing.T, dyn *fake.FakeDynamicClient, verb func(Streams, *clientFlags) *cobra.Command, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := verb(Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, &clientFlags{client: profileclient.New(dyn)})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func stored(t *testing.T, dyn *fake.FakeDynamicClient, name string) *v1.FargateProfile {
	t.Helper()
	obj, err := dyn.Tracker().Get(profileclient.GVR, "", name)
	if err != nil {
		t.Fatalf("profile %q: %v", name, err)
	}
	p, err := profileclient.FromObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func created(dyn *fake.FakeDynamicClient) int {
	n := 0
	for _, a := range dyn.Actions() {
		if a.GetVerb() == "create" {
			n++
		}
	}
	return n
}

const webhookDenial = `admission webhook "fargateprofiles.fargo.dev" denied the request: fargate profile "fp-game": cannot create while Fargate profile "old" is DELETING: wait until the deletion finishes, then try again`

func TestCreateFargateProfile(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		prepare func(*fake.FakeDynamicClient)
		want    string // stdout
		wantErr string
	}{
		{
			name:    "creates and waits until ACTIVE",
			args:    []string{"fargateprofile", "--cluster", "game", "--name", "fp-game", "--namespace", "game"},
			prepare: func(dyn *fake.FakeDynamicClient) { settle(dyn, v1.StateActive, "") },
			want:    "creating Fargate profile \"fp-game\" on cluster \"game\"\ncreated Fargate profile \"fp-game\" on cluster \"game\"\n",
		},
		{
			name: "alias, no wait",
			args: []string{"fp", "--cluster", "game", "--name", "fp-game", "--namespace", "game", "--wait=false"},
			want: "creating Fargate profile \"fp-game\" on cluster \"game\"\ncreated Fargate profile \"fp-game\" on cluster \"game\"; not waiting for it to become ACTIVE\n",
		},
		{
			name: "CREATE_FAILED",
			args: []string{"fargateprofiles", "--cluster", "game", "--name", "fp-game", "--namespace", "game"},
			prepare: func(dyn *fake.FakeDynamicClient) {
				settle(dyn, v1.StateCreateFailed, "no free address in 10.10.0.0/28")
			},
			wantErr: `Fargate profile "fp-game" is CREATE_FAILED: no free address in 10.10.0.0/28`,
		},
		{
			name:    "times out",
			args:    []string{"fargateprofile", "--cluster", "game", "--name", "fp-game", "--namespace", "game", "--timeout", "100ms"},
			wantErr: `timed out after 100ms waiting for Fargate profile "fp-game" to become ACTIVE (it is CREATING); see fargo get fargateprofile`,
		},
		{
			name: "already exists",
			args: []string{"fargateprofile", "--cluster", "game", "--name", "fp-game", "--namespace", "game"},
			prepare: func(dyn *fake.FakeDynamicClient) {
				refuse(dyn, "create", apierrors.NewAlreadyExists(v1.Resource(v1.Plural), "fp-game"))
			},
			wantErr: `Fargate profile "fp-game" already exists: profiles are immutable, so delete it first or choose another name`,
		},
		{
			name: "admission denial is one line",
			args: []string{"fargateprofile", "--cluster", "game", "--name", "fp-game", "--namespace", "game"},
			prepare: func(dyn *fake.FakeDynamicClient) {
				refuse(dyn, "create", &apierrors.StatusError{ErrStatus: metav1.Status{
					Status: metav1.StatusFailure, Code: 400, Reason: metav1.StatusReasonBadRequest, Message: webhookDenial,
				}})
			},
			wantErr: webhookDenial,
		},
		{
			name: "server down",
			args: []string{"fargateprofile", "--cluster", "game", "--name", "fp-game", "--namespace", "game"},
			prepare: func(dyn *fake.FakeDynamicClient) {
				refuse(dyn, "create", &url.Error{Op: "Post", URL: "https://127.0.0.1:6443/apis/fargo.dev/v1/fargateprofiles", Err: syscall.ECONNREFUSED})
			},
			wantErr: "cannot reach the cluster at https://127.0.0.1:6443: connection refused; is fargo up running?",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn := newFake(t)
			if tt.prepare != nil {
				tt.prepare(dyn)
			}
			out, _, err := execute(t, dyn, createCommand, tt.args...)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error\n got %q\nwant %q", got, tt.wantErr)
			}
			if tt.wantErr == "" && out != tt.want {
				t.Errorf("stdout\n got %q\nwant %q", out, tt.want)
			}
		})
	}
}

func TestCreateFargateProfileBuildsTheObject(t *testing.T) {
	dyn := newFake(t)
	settle(dyn, v1.StateActive, "")
	_, _, err := execute(t, dyn, createCommand, "fargateprofile", "--cluster", "game", "--name", "fp-game",
		"--namespace", "game-*", "--labels", "app=2048,tier=web", "--subnets", "10.10.0.0/20,10.10.16.0/20",
		"--pod-execution-role-arn", "arn:aws:iam::000000000000:role/x", "--tags", "team=games")
	if err != nil {
		t.Fatal(err)
	}
	want := v1.FargateProfileSpec{
		Selectors:           []v1.Selector{{Namespace: "game-*", Labels: map[string]string{"app": "2048", "tier": "web"}}},
		Subnets:             []string{"10.10.0.0/20", "10.10.16.0/20"},
		PodExecutionRoleARN: "arn:aws:iam::000000000000:role/x",
		Tags:                map[string]string{"team": "games"},
		ClusterName:         "game",
	}
	if got := stored(t, dyn, "fp-game").Spec; !reflect.DeepEqual(got, want) {
		t.Errorf("stored spec\n got %+v\nwant %+v", got, want)
	}
}

// TestCreateFargateProfileRefusesBadFlags checks that every problem names
// its flag and that nothing reaches the cluster.
func TestCreateFargateProfileRefusesBadFlags(t *testing.T) {
	base := []string{"fargateprofile", "--cluster", "game"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"reserved name", []string{"--name", "eks-game", "--namespace", "game"},
			[]string{`--name: name must not start with "eks-"`}},
		{"bad name", []string{"--name", "Game_1", "--namespace", "game"},
			[]string{`--name: name must consist of lower case letters`}},
		{"empty namespace", []string{"--name", "fp", "--namespace", ""},
			[]string{`--namespace must not be empty`}},
		{"too many labels", []string{"--name", "fp", "--namespace", "game", "--labels", "a=1,b=2,c=3,d=4,e=5,f=6"},
			[]string{`--labels: selector 1 has 6 labels: at most 5 are allowed`}},
		{"public subnet and host bits", []string{"--name", "fp", "--namespace", "game", "--subnets", "8.8.8.0/24,10.0.0.1/8"},
			[]string{`--subnets: subnet "8.8.8.0/24" is not inside a private range`, `--subnets: subnet "10.0.0.1/8" has host bits set: write 10.0.0.0/8`}},
		{"long tag key", []string{"--name", "fp", "--namespace", "game", "--tags", strings.Repeat("k", 129) + "=v"},
			[]string{`--tags: tag key "kkk`}},
		{"several flags", []string{"--name", "eks-x", "--namespace", "game", "--subnets", "8.8.8.0/24"},
			[]string{`--name: name must not start with "eks-"`, `--subnets: subnet "8.8.8.0/24"`}},
		{"missing namespace", []string{"--name", "fp"},
			[]string{`required flag(s) "namespace" not set`}},
		{"malformed labels", []string{"--name", "fp", "--namespace", "game", "--labels", "app"},
			[]string{`invalid argument "app" for "--labels" flag`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn := newFake(t)
			_, _, err := execute(t, dyn, createCommand, append(base, tt.args...)...)
			for _, want := range tt.want {
				if !strings.Contains(errString(err), want) {
					t.Errorf("error %q does not contain %q", errString(err), want)
				}
			}
			if n := created(dyn); n != 0 {
				t.Errorf("%d create calls reached the cluster", n)
			}
		})
	}
}

func game2048() *v1.FargateProfile {
	p := &v1.FargateProfile{
		Spec: v1.FargateProfileSpec{
			Selectors:           []v1.Selector{{Namespace: "fargate-game-2048"}},
			Subnets:             []string{"10.10.0.0/20"},
			PodExecutionRoleARN: "arn:aws:iam::000000000000:role/fargo-pod-execution",
			ClusterName:         "game",
		},
		Status: v1.FargateProfileStatus{Status: v1.StateActive},
	}
	p.Name = "fargate-game-2048"
	return p
}

func profileOn(name, cluster string, state v1.ProfileState) *v1.FargateProfile {
	p := &v1.FargateProfile{
		Spec:   v1.FargateProfileSpec{Selectors: []v1.Selector{{Namespace: name}}, ClusterName: cluster},
		Status: v1.FargateProfileStatus{Status: state},
	}
	p.Name = name
	return p
}

func TestGetFargateProfile(t *testing.T) {
	tests := []struct {
		name       string
		profiles   []*v1.FargateProfile
		args       []string
		wantOut    string
		wantErrOut string
		wantErr    string
	}{
		{
			name:     "yaml in the spec's shape",
			profiles: []*v1.FargateProfile{game2048()},
			args:     []string{"fargateprofile", "--cluster", "game", "-o", "yaml"},
			wantOut: `- name: fargate-game-2048
  podExecutionRoleARN: arn:aws:iam::000000000000:role/fargo-pod-execution
  selectors:
  - namespace: fargate-game-2048
  status: ACTIVE
  subnets:
  - 10.10.0.0/20
`,
		},
		{
			name:     "json",
			profiles: []*v1.FargateProfile{profileOn("fp-a", "", v1.StateActive)},
			args:     []string{"fp", "--output", "json"},
			wantOut:  "[\n    {\n        \"name\": \"fp-a\",\n        \"selectors\": [\n            {\n                \"namespace\": \"fp-a\"\n            }\n        ],\n        \"status\": \"ACTIVE\"\n    }\n]\n",
		},
		{
			name:     "table",
			profiles: []*v1.FargateProfile{profileOn("fp-b", "game", ""), profileOn("fp-a", "game", v1.StateActive)},
			args:     []string{"fargateprofiles"},
			wantOut: "" +
				"NAME   SELECTOR_NAMESPACE   SELECTOR_LABELS   POD_EXECUTION_ROLE_ARN   SUBNETS   TAGS     STATUS\n" +
				"fp-a   fp-a                 <none>            <none>                   <none>    <none>   ACTIVE\n" +
				"fp-b   fp-b                 <none>            <none>                   <none>    <none>   CREATING\n",
		},
		{
			name:     "--cluster keeps its own and unnamed profiles",
			profiles: []*v1.FargateProfile{profileOn("fp-a", "game", v1.StateActive), profileOn("fp-b", "other", v1.StateActive), profileOn("fp-c", "", v1.StateActive)},
			args:     []string{"fargateprofile", "--cluster", "game", "-o", "yaml"},
			wantOut:  "- name: fp-a\n  selectors:\n  - namespace: fp-a\n  status: ACTIVE\n- name: fp-c\n  selectors:\n  - namespace: fp-c\n  status: ACTIVE\n",
		},
		{
			name:     "--name",
			profiles: []*v1.FargateProfile{profileOn("fp-a", "game", v1.StateActive), profileOn("fp-b", "game", v1.StateActive)},
			args:     []string{"fargateprofile", "--name", "fp-b", "-o", "yaml"},
			wantOut:  "- name: fp-b\n  selectors:\n  - namespace: fp-b\n  status: ACTIVE\n",
		},
		{
			name:       "no profiles, table",
			args:       []string{"fargateprofile", "--cluster", "game"},
			wantErrOut: "No Fargate profiles found on cluster \"game\"\n",
		},
		{
			name:    "no profiles, yaml",
			args:    []string{"fargateprofile", "-o", "yaml"},
			wantOut: "[]\n",
		},
		{
			name:    "no profiles, json",
			args:    []string{"fargateprofile", "-o", "json"},
			wantOut: "[]\n",
		},
		{
			name:    "--name not found",
			args:    []string{"fargateprofile", "--cluster", "game", "--name", "nope"},
			wantErr: `Fargate profile "nope" not found on cluster "game"`,
		},
		{
			name:     "--name on another cluster",
			profiles: []*v1.FargateProfile{profileOn("fp-b", "other", v1.StateActive)},
			args:     []string{"fargateprofile", "--cluster", "game", "--name", "fp-b"},
			wantErr:  `Fargate profile "fp-b" not found on cluster "game": it belongs to cluster "other"`,
		},
		{
			name:    "unknown format",
			args:    []string{"fargateprofile", "-o", "wide"},
			wantErr: `--output "wide": use one of table, yaml, json`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := execute(t, newFake(t, tt.profiles...), getCommand, tt.args...)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error\n got %q\nwant %q", got, tt.wantErr)
			}
			if out != tt.wantOut {
				t.Errorf("stdout\n got %q\nwant %q", out, tt.wantOut)
			}
			if errOut != tt.wantErrOut {
				t.Errorf("stderr\n got %q\nwant %q", errOut, tt.wantErrOut)
			}
		})
	}
}

// finalize plays the profile controller on delete: the profile goes
// DELETING and, once the command watches, is removed, or is marked
// DELETE_FAILED when fail is set.
func finalize(dyn *fake.FakeDynamicClient, fail bool) {
	tracker := dyn.Tracker()
	dyn.PrependReactor("delete", v1.Plural, func(action clienttesting.Action) (bool, runtime.Object, error) {
		name := action.(clienttesting.DeleteAction).GetName()
		obj, err := tracker.Get(profileclient.GVR, "", name)
		if err != nil {
			return true, nil, err
		}
		u := obj.(*unstructured.Unstructured)
		u.SetDeletionTimestamp(&metav1.Time{Time: time.Now()})
		_ = unstructured.SetNestedField(u.Object, string(v1.StateDeleting), "status", "status")
		return true, nil, tracker.Update(profileclient.GVR, u, "")
	})
	var once sync.Once
	dyn.PrependWatchReactor(v1.Plural, func(action clienttesting.Action) (bool, watch.Interface, error) {
		w, err := tracker.Watch(profileclient.GVR, "", action.(clienttesting.WatchActionImpl).ListOptions)
		once.Do(func() { go finish(dyn, fail) })
		return true, w, err
	})
}

func finish(dyn *fake.FakeDynamicClient, fail bool) {
	tracker := dyn.Tracker()
	items, _, _ := profileclient.New(dyn).List(context.Background(), metav1.ListOptions{})
	for _, p := range items {
		if p.Status.Status != v1.StateDeleting {
			continue
		}
		if !fail {
			_ = tracker.Delete(profileclient.GVR, "", p.Name)
			continue
		}
		p.Status = v1.FargateProfileStatus{Status: v1.StateDeleteFailed, Message: "pod game/web-1 could not be deleted"}
		u, _ := profileclient.ToUnstructured(&p)
		_ = tracker.Update(profileclient.GVR, u, "")
	}
}

func TestDeleteFargateProfile(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		prepare  func(*fake.FakeDynamicClient)
		want     string
		wantErr  string
		wantGone bool
	}{
		{
			name:    "without waiting",
			args:    []string{"fargateprofile", "--cluster", "game", "--name", "fp-a"},
			prepare: func(dyn *fake.FakeDynamicClient) { finalize(dyn, false) },
			want:    "deleting Fargate profile \"fp-a\" on cluster \"game\"\nFargate profile \"fp-a\" is DELETING: it is removed once its pods are deleted (--wait waits for that)\n",
		},
		{
			name:     "waits until gone",
			args:     []string{"fp", "--cluster", "game", "--name", "fp-a", "--wait"},
			prepare:  func(dyn *fake.FakeDynamicClient) { finalize(dyn, false) },
			want:     "deleting Fargate profile \"fp-a\" on cluster \"game\"\ndeleted Fargate profile \"fp-a\" on cluster \"game\"\n",
			wantGone: true,
		},
		{
			name:    "DELETE_FAILED",
			args:    []string{"fargateprofile", "--cluster", "game", "--name", "fp-a", "--wait"},
			prepare: func(dyn *fake.FakeDynamicClient) { finalize(dyn, true) },
			wantErr: `Fargate profile "fp-a" is DELETE_FAILED: pod game/web-1 could not be deleted`,
		},
		{
			name:    "not found",
			args:    []string{"fargateprofile", "--cluster", "game", "--name", "nope"},
			wantErr: `Fargate profile "nope" not found on cluster "game"`,
		},
		{
			name: "refused while another is DELETING",
			args: []string{"fargateprofile", "--cluster", "game", "--name", "fp-a"},
			prepare: func(dyn *fake.FakeDynamicClient) {
				refuse(dyn, "delete", apierrors.NewBadRequest(`admission webhook "fargateprofiles.fargo.dev" denied the request: fargate profile "fp-a": cannot delete while Fargate profile "old" is DELETING: wait until the deletion finishes, then try again`))
			},
			wantErr: `admission webhook "fargateprofiles.fargo.dev" denied the request: fargate profile "fp-a": cannot delete while Fargate profile "old" is DELETING: wait until the deletion finishes, then try again`,
		},
		{
			name:    "missing flags",
			args:    []string{"fargateprofile"},
			wantErr: `required flag(s) "cluster", "name" not set`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn := newFake(t, profileOn("fp-a", "game", v1.StateActive))
			if tt.prepare != nil {
				tt.prepare(dyn)
			}
			out, _, err := execute(t, dyn, deleteCommand, tt.args...)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error\n got %q\nwant %q", got, tt.wantErr)
			}
			if out != tt.want && tt.wantErr == "" {
				t.Errorf("stdout\n got %q\nwant %q", out, tt.want)
			}
			if _, err := dyn.Tracker().Get(profileclient.GVR, "", "fp-a"); tt.wantGone != apierrors.IsNotFound(err) {
				t.Errorf("profile gone = %v, want %v", apierrors.IsNotFound(err), tt.wantGone)
			}
		})
	}
}

func TestParentCommands(t *testing.T) {
	_, _, err := execute(t, newFake(t), createCommand, "nodegroup")
	if want := `unknown command "nodegroup" for "create"`; !strings.Contains(errString(err), want) {
		t.Errorf("error %q, want one containing %q", errString(err), want)
	}
}

func TestKubeconfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.kubeconfig")
	if err := os.WriteFile(good, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, flag, env, dataDir, wantErr string
	}{
		{name: "flag", flag: good},
		{name: "$KUBECONFIG", env: good},
		{name: "data dir", dataDir: dir, wantErr: filepath.Join(dir, "admin.kubeconfig")},
		{name: "missing flag file", flag: filepath.Join(dir, "nope"), wantErr: "--kubeconfig " + filepath.Join(dir, "nope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.env)
			t.Setenv(dataDirEnv, tt.dataDir)
			_, err := (&clientFlags{kubeconfig: tt.flag}).profiles()
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(errString(err), tt.wantErr) {
				t.Errorf("error %q, want one containing %q", errString(err), tt.wantErr)
			}
		})
	}
}

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: fargo
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: t}
contexts:
- name: fargo
  context: {cluster: fargo, user: admin}
current-context: fargo
`

func TestAPIError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"multi-line message", apierrors.NewBadRequest("first\n  second"), "first second"},
		{"resource not served", apierrors.NewNotFound(v1.Resource(v1.Plural), ""), "this cluster does not serve FargateProfiles (fargateprofiles.fargo.dev): is it a fargo cluster?"},
		{"other", errors.New("boom"), "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apiError(tt.err).Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
