package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Failure is how FailNext makes a call fail.
type Failure int

const (
	// ServerError answers 500 InternalFailure.
	ServerError Failure = iota
	// Throttle answers 400 ThrottlingException.
	Throttle
	// Invalid answers 400 with the service's validation error.
	Invalid
	// pass lets a call through; FailAfter queues it.
	pass Failure = -1
)

// Call is one request the server answered.
type Call struct {
	// Operation is the X-Amz-Target without its API version
	// ("PutLogEvents").
	Operation string
	// Status is the HTTP status of the answer.
	Status int
}

// apiError is an AWS JSON error answer.
type apiError struct {
	status  int
	code    string
	message string
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status, code, fmt.Sprintf(format, args...)}
}

// handler serves one operation: it decodes the body into its input and
// returns the output to encode, or an error.
type handler func(s *Server, body []byte) (any, *apiError)

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give a client as its endpoint.
	URL string

	mu             sync.Mutex
	groups         map[string]*logGroup
	deliveries     map[string][][]byte
	kinesis        map[string][]KinesisRecord
	calls          []Call
	failNext       []Failure
	failEntries    []int
	lastAccessKey  string
	sequenceNumber int
}

// New starts a Server, stopped when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		groups:     map[string]*logGroup{},
		deliveries: map[string][][]byte{},
		kinesis:    map[string][]KinesisRecord{},
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

var handlers = map[string]handler{
	"Logs_20140328.CreateLogGroup":     (*Server).createLogGroup,
	"Logs_20140328.CreateLogStream":    (*Server).createLogStream,
	"Logs_20140328.PutRetentionPolicy": (*Server).putRetentionPolicy,
	"Logs_20140328.PutLogEvents":       (*Server).putLogEvents,
	"Logs_20140328.DescribeLogStreams": (*Server).describeLogStreams,
	"Logs_20140328.GetLogEvents":       (*Server).getLogEvents,
	"Firehose_20150804.PutRecordBatch": (*Server).putRecordBatch,
	"Firehose_20150804.PutRecord":      (*Server).putRecord,
	"Kinesis_20131202.PutRecords":      (*Server).putKinesisRecords,
}

var accessKeyRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.IndexByte(target, '.')+1:]
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	out, apiErr := s.answer(target, r.Header.Get("Authorization"), body)
	status := http.StatusOK
	if apiErr != nil {
		status = apiErr.status
	}
	s.calls = append(s.calls, Call{Operation: op, Status: status})
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "fake-request")
	if apiErr != nil {
		w.Header().Set("X-Amzn-Errortype", apiErr.code)
		w.WriteHeader(apiErr.status)
		json.NewEncoder(w).Encode(map[string]string{"__type": apiErr.code, "message": apiErr.message})
		return
	}
	json.NewEncoder(w).Encode(out)
}

// answer runs one request; s.mu is held.
func (s *Server) answer(target, auth string, body []byte) (any, *apiError) {
	m := accessKeyRE.FindStringSubmatch(auth)
	if m == nil {
		return nil, errorf(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	s.lastAccessKey = m[1]
	h, ok := handlers[target]
	if !ok {
		return nil, errorf(400, "UnknownOperationException", "awsfake does not serve %q", target)
	}
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		if f != pass {
			return nil, f.apiError()
		}
	}
	return h(s, body)
}

func (f Failure) apiError() *apiError {
	switch f {
	case Throttle:
		return errorf(400, "ThrottlingException", "Rate exceeded (awsfake)")
	case Invalid:
		return errorf(400, "InvalidParameterException", "refused by awsfake")
	}
	return errorf(500, "InternalFailure", "failed by awsfake")
}

// decode reads a request body; a body that does not fit is the client's
// error, as the service would say.
func decode(body []byte, in any) *apiError {
	if err := json.Unmarshal(body, in); err != nil {
		return errorf(400, "SerializationException", "awsfake: %v", err)
	}
	return nil
}

// FailNext makes the next n calls, of any operation, fail with f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, f)
	}
}

// FailAfter lets the next skip calls through, then makes n fail with f.
func (s *Server) FailAfter(skip, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range skip {
		s.failNext = append(s.failNext, pass)
	}
	for range n {
		s.failNext = append(s.failNext, f)
	}
}

// FailEntries makes the entries at these positions of the next
// PutRecordBatch or PutRecords call fail (ServiceUnavailableException,
// ProvisionedThroughputExceededException), while the others are kept.
func (s *Server) FailEntries(positions ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failEntries = append([]int(nil), positions...)
}

// takeEntryFailures returns the positions to fail in this batch call.
func (s *Server) takeEntryFailures() map[int]bool {
	fail := map[int]bool{}
	for _, i := range s.failEntries {
		fail[i] = true
	}
	s.failEntries = nil
	return fail
}

// Calls returns the calls answered so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount is how many calls of op (e.g. "PutLogEvents") were answered.
func (s *Server) CallCount(op string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Operation == op {
			n++
		}
	}
	return n
}

// LastAccessKey is the access key ID that signed the last request.
func (s *Server) LastAccessKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAccessKey
}
