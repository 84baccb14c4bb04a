package eksctl

import (
	"bytes"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

func game2048() v1.FargateProfile {
	return v1.FargateProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "fargate-game-2048"},
		Spec: v1.FargateProfileSpec{
			Selectors:           []v1.Selector{{Namespace: "fargate-game-2048"}},
			Subnets:             []string{"10.10.0.0/20"},
			PodExecutionRoleARN: "arn:aws:iam::000000000000:role/fargo-pod-execution",
			ClusterName:         "game",
		},
		Status: v1.FargateProfileStatus{Status: v1.StateActive},
	}
}

func labelled() v1.FargateProfile {
	return v1.FargateProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "fp-web"},
		Spec: v1.FargateProfileSpec{
			Selectors: []v1.Selector{
				{Namespace: "web", Labels: map[string]string{"tier": "front", "app": "shop"}},
				{Namespace: "jobs"},
			},
			Tags: map[string]string{"team": "web"},
		},
	}
}

func TestPrint(t *testing.T) {
	tests := []struct {
		name     string
		format   string
		profiles []v1.FargateProfile
		want     string
	}{
		{
			name:     "yaml as in the spec",
			format:   FormatYAML,
			profiles: []v1.FargateProfile{game2048()},
			want: `- name: fargate-game-2048
  podExecutionRoleARN: arn:aws:iam::000000000000:role/fargo-pod-execution
  selectors:
  - namespace: fargate-game-2048
  status: ACTIVE
  subnets:
  - 10.10.0.0/20
`,
		},
		{
			name:     "yaml with labels and tags, sorted by name",
			format:   FormatYAML,
			profiles: []v1.FargateProfile{labelled(), game2048()},
			want: `- name: fargate-game-2048
  podExecutionRoleARN: arn:aws:iam::000000000000:role/fargo-pod-execution
  selectors:
  - namespace: fargate-game-2048
  status: ACTIVE
  subnets:
  - 10.10.0.0/20
- name: fp-web
  selectors:
  - labels:
      app: shop
      tier: front
    namespace: web
  - namespace: jobs
  status: CREATING
  tags:
    team: web
`,
		},
		{
			name:   "yaml without profiles",
			format: FormatYAML,
			want:   "[]\n",
		},
		{
			name:     "json",
			format:   FormatJSON,
			profiles: []v1.FargateProfile{game2048()},
			want: `[
    {
        "name": "fargate-game-2048",
        "podExecutionRoleARN": "arn:aws:iam::000000000000:role/fargo-pod-execution",
        "selectors": [
            {
                "namespace": "fargate-game-2048"
            }
        ],
        "status": "ACTIVE",
        "subnets": [
            "10.10.0.0/20"
        ]
    }
]
`,
		},
		{
			name:   "json without profiles",
			format: FormatJSON,
			want:   "[]\n",
		},
		{
			name:     "table, one row per selector",
			format:   FormatTable,
			profiles: []v1.FargateProfile{labelled(), game2048()},
			want: "" +
				"NAME                SELECTOR_NAMESPACE   SELECTOR_LABELS       POD_EXECUTION_ROLE_ARN                               SUBNETS        TAGS       STATUS\n" +
				"fargate-game-2048   fargate-game-2048    <none>                arn:aws:iam::000000000000:role/fargo-pod-execution   10.10.0.0/20   <none>     ACTIVE\n" +
				"fp-web              web                  app=shop,tier=front   <none>                                               <none>         team=web   CREATING\n" +
				"fp-web              jobs                 <none>                <none>                                               <none>         team=web   CREATING\n",
		},
		{
			name:   "table without profiles",
			format: FormatTable,
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Print(&out, tt.format, Summarize(tt.profiles)); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}

func TestPrintUnknownFormat(t *testing.T) {
	err := Print(&bytes.Buffer{}, "wide", nil)
	if err == nil || err.Error() != `unknown output format "wide": use one of table, yaml, json` {
		t.Errorf("error %v", err)
	}
}

func TestSummaryStatus(t *testing.T) {
	marked := game2048()
	marked.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	failed := game2048()
	failed.Status.Status = v1.StateDeleteFailed
	failed.DeletionTimestamp = marked.DeletionTimestamp
	fresh := game2048()
	fresh.Status.Status = ""
	tests := []struct {
		name string
		p    v1.FargateProfile
		want v1.ProfileState
	}{
		{"active", game2048(), v1.StateActive},
		{"no status yet", fresh, v1.StateCreating},
		{"marked for deletion", marked, v1.StateDeleting},
		{"delete failed", failed, v1.StateDeleteFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize([]v1.FargateProfile{tt.p})[0].Status; got != tt.want {
				t.Errorf("status %q, want %q", got, tt.want)
			}
		})
	}
}
