package es

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// TestAWSAuthSignsWithSigV4 checks a request signed by the output
// verifies: the same SDK signer, given the same credentials, request
// and time, computes the same Authorization header.
func TestAWSAuthSignsWithSigV4(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "")
	verified := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verified <- verify(r, creds)
		io.WriteString(w, `{"took":1,"errors":false,"items":[{"create":{"status":201}}]}`)
	}))
	defer srv.Close()
	o := newOutput(t, params(t, srv.URL, "AWS_Auth", "On", "AWS_Region", "eu-west-1"), logpipe.Env{AWSCredentials: creds})
	if err := o.Send(context.Background(), []logpipe.Record{{Tag: "t", Time: time.Now(), Fields: map[string]any{"log": "x"}}}); err != nil {
		t.Fatal(err)
	}
	if problem := <-verified; problem != "" {
		t.Fatal(problem)
	}
}

// verify re-signs r and returns what does not match, or "".
func verify(r *http.Request, creds aws.CredentialsProvider) string {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/es/aws4_request") {
		return "Authorization = " + auth + ", want an AWS4-HMAC-SHA256 signature for eu-west-1/es"
	}
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != hex.EncodeToString(sum[:]) {
		return "X-Amz-Content-Sha256 = " + got + ", not the body's hash"
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "X-Amz-Date: " + err.Error()
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	_, list, _ := strings.Cut(auth, "SignedHeaders=")
	list, _, _ = strings.Cut(list, ",")
	for _, h := range strings.Split(list, ";") {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	c, _ := creds.Retrieve(context.Background())
	if err := v4.NewSigner().SignHTTP(context.Background(), c, again, hex.EncodeToString(sum[:]), "es", "eu-west-1", signedAt); err != nil {
		return err.Error()
	}
	if want := again.Header.Get("Authorization"); want != auth {
		return "Authorization = " + auth + "\nre-signed     = " + want
	}
	return ""
}
