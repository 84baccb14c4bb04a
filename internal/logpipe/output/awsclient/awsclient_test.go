package awsclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

func params(kv ...string) logpipe.Params {
	var p logpipe.Params
	for i := 0; i < len(kv); i += 2 {
		p = append(p, logpipe.Param{Key: kv[i], Value: kv[i+1]})
	}
	return p
}

func TestEndpointsBecomeBaseURLs(t *testing.T) {
	cases := map[string]string{
		"logs.us-east-1.amazonaws.com": "https://logs.us-east-1.amazonaws.com",
		"http://127.0.0.1:4566/":       "http://127.0.0.1:4566",
		"localhost:4566":               "https://localhost:4566",
	}
	for in, want := range cases {
		s, err := ReadSettings("x", params("region", "us-east-1", "endpoint", in))
		if err != nil || s.Endpoint != want {
			t.Errorf("endpoint %q = %q, %v; want %q", in, s.Endpoint, err, want)
		}
	}
	if _, err := ReadSettings("x", params("region", "r", "endpoint", "ftp://h")); err == nil {
		t.Error("an ftp endpoint was accepted")
	}
}

// The formats themselves are tested in package strftime.
func TestReadEncoderRefusesAnUnknownTimeKeyFormat(t *testing.T) {
	_, err := ReadEncoder("cw", params("time_key", "ts", "time_key_format", "%Y %Q"))
	if err == nil || !strings.Contains(err.Error(), `output "cw": time_key_format`) || !strings.Contains(err.Error(), "%Q") {
		t.Errorf("ReadEncoder = %v, want an error naming the output, the key and %%Q", err)
	}
	e, err := ReadEncoder("cw", params("time_key", "ts", "time_key_format", "%Y-%m-%dT%H:%M:%S.%3N"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.Encode(logpipe.Record{Time: time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.UTC), Fields: map[string]any{}})
	if want := `{"ts":"2025-03-04T05:06:07.891"}`; string(got) != want {
		t.Errorf("Encode = %s, want %s", got, want)
	}
}

func TestEncoder(t *testing.T) {
	rec := logpipe.Record{Time: time.Unix(0, 0), Fields: map[string]any{"log": "a<b>&c", "n": float64(2)}}
	got, err := Encoder{}.Encode(rec)
	if err != nil || string(got) != `{"log":"a<b>&c","n":2}` {
		t.Errorf("whole record = %s, %v", got, err)
	}
	got, _ = Encoder{TimeKey: "ts", TimeFormat: "%s"}.Encode(rec)
	if string(got) != `{"log":"a<b>&c","n":2,"ts":"0"}` {
		t.Errorf("with time_key = %s", got)
	}
	if _, ok := rec.Fields["ts"]; ok {
		t.Error("time_key was added to the caller's record")
	}
	got, _ = Encoder{LogKey: "log"}.Encode(rec)
	if string(got) != "a<b>&c" {
		t.Errorf("log_key string = %s, want the text itself", got)
	}
	if _, err := (Encoder{LogKey: "missing"}).Encode(rec); err == nil {
		t.Error("a record without log_key's field was encoded")
	}
}

func TestBatchCallsKeepToLimits(t *testing.T) {
	b := Batch[int]{Entries: []int{3, 3, 3, 1, 1, 1, 1, 5}, Size: func(n int) int { return n }, Limits: Limits{Entries: 3, Bytes: 6}}
	var sizes []int
	for _, c := range b.calls() {
		sizes = append(sizes, len(c))
	}
	// [3 3] is full at 6 bytes; [3 1 1] at 3 entries; [1 1] cannot take 5.
	if got := fmt.Sprint(sizes); got != "[2 3 2 1]" {
		t.Errorf("call sizes = %s, want [2 3 2 1]", got)
	}
}

// TestRoleARNIsAssumedAtSTSEndpoint checks that role_arn asks STS (at
// sts_endpoint, signed with the base credentials) for the role.
func TestRoleARNIsAssumedAtSTSEndpoint(t *testing.T) {
	var mu sync.Mutex
	var form url.Values
	var auth string
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		form, _ = url.ParseQuery(string(body))
		auth = r.Header.Get("Authorization")
		mu.Unlock()
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>`)
	}))
	defer sts.Close()

	s, err := ReadSettings("x", params("region", "us-east-1", "role_arn", "arn:aws:iam::123456789012:role/logs",
		"external_id", "ext-1", "sts_endpoint", sts.URL, "endpoint", "http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	env := logpipe.Env{AWSCredentials: credentials.NewStaticCredentialsProvider("AKIDBASE", "secret", "")}
	cfg, err := s.Config(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Retrieve = %v, want STS's AccessDenied", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if form.Get("Action") != "AssumeRole" || form.Get("RoleArn") != "arn:aws:iam::123456789012:role/logs" || form.Get("ExternalId") != "ext-1" {
		t.Errorf("STS got %v, want AssumeRole of the role with the external ID", form)
	}
	if !strings.Contains(auth, "Credential=AKIDBASE/") {
		t.Errorf("STS request signed with %q, want the base credentials", auth)
	}
}
