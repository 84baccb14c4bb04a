package awsfake

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// CloudWatch Logs limits of PutLogEvents the fake enforces.
const (
	MaxEventsPerPut = 10000
	MaxPutBytes     = 1048576
	EventOverhead   = 26
	MaxEventBytes   = 262144
	maxPutSpan      = 24 * time.Hour
)

// LogEvent is one event as stored.
type LogEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

type logGroup struct {
	retentionDays int32
	streams       map[string][]LogEvent
}

// validRetentionDays are the values PutRetentionPolicy takes.
var validRetentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// CreateLogGroup makes a log group exist, as if made beforehand.
func (s *Server) CreateLogGroup(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[name] == nil {
		s.groups[name] = &logGroup{streams: map[string][]LogEvent{}}
	}
}

// LogGroup reports whether a group exists, and its retention (0: none).
func (s *Server) LogGroup(name string) (retentionDays int32, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		return 0, false
	}
	return g.retentionDays, true
}

// LogStreams returns the names of a group's streams, sorted.
func (s *Server) LogStreams(group string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	if g := s.groups[group]; g != nil {
		for n := range g.streams {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// LogEvents returns the events stored in a stream, in the order received.
func (s *Server) LogEvents(group, stream string) []LogEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[group]; g != nil {
		return slices.Clone(g.streams[stream])
	}
	return nil
}

type groupInput struct {
	LogGroupName    string `json:"logGroupName"`
	LogStreamName   string `json:"logStreamName"`
	RetentionInDays int32  `json:"retentionInDays"`
}

func (s *Server) createLogGroup(body []byte) (any, *apiError) {
	var in groupInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.LogGroupName == "" {
		return nil, errorf(400, "InvalidParameterException", "logGroupName is required")
	}
	if s.groups[in.LogGroupName] != nil {
		return nil, errorf(400, "ResourceAlreadyExistsException", "The specified log group already exists")
	}
	s.groups[in.LogGroupName] = &logGroup{streams: map[string][]LogEvent{}}
	return struct{}{}, nil
}

func (s *Server) group(name string) (*logGroup, *apiError) {
	g := s.groups[name]
	if g == nil {
		return nil, errorf(400, "ResourceNotFoundException", "The specified log group does not exist.")
	}
	return g, nil
}

func (s *Server) createLogStream(body []byte) (any, *apiError) {
	var in groupInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	g, err := s.group(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if in.LogStreamName == "" || strings.ContainsAny(in.LogStreamName, ":*") {
		return nil, errorf(400, "InvalidParameterException", "invalid logStreamName %q", in.LogStreamName)
	}
	if _, ok := g.streams[in.LogStreamName]; ok {
		return nil, errorf(400, "ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	g.streams[in.LogStreamName] = nil
	return struct{}{}, nil
}

func (s *Server) putRetentionPolicy(body []byte) (any, *apiError) {
	var in groupInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	g, err := s.group(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(validRetentionDays, in.RetentionInDays) {
		return nil, errorf(400, "InvalidParameterException", "retentionInDays %d is not a valid value", in.RetentionInDays)
	}
	g.retentionDays = in.RetentionInDays
	return struct{}{}, nil
}

type putLogEventsInput struct {
	LogGroupName  string     `json:"logGroupName"`
	LogStreamName string     `json:"logStreamName"`
	LogEvents     []LogEvent `json:"logEvents"`
}

func (s *Server) putLogEvents(body []byte) (any, *apiError) {
	var in putLogEventsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	g, err := s.group(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if _, ok := g.streams[in.LogStreamName]; !ok {
		return nil, errorf(400, "ResourceNotFoundException", "The specified log stream does not exist.")
	}
	if err := checkLogEvents(in.LogEvents); err != nil {
		return nil, err
	}
	g.streams[in.LogStreamName] = append(g.streams[in.LogStreamName], in.LogEvents...)
	return map[string]any{"nextSequenceToken": "fake"}, nil
}

// checkLogEvents enforces PutLogEvents' documented limits.
func checkLogEvents(events []LogEvent) *apiError {
	if len(events) == 0 || len(events) > MaxEventsPerPut {
		return errorf(400, "InvalidParameterException", "%d log events: a batch holds 1 to %d", len(events), MaxEventsPerPut)
	}
	size := 0
	for i, e := range events {
		n := len(e.Message) + EventOverhead
		if e.Message == "" || n > MaxEventBytes || !utf8.ValidString(e.Message) {
			return errorf(400, "InvalidParameterException", "log event %d: message of %d bytes is empty, too large or not UTF-8", i, len(e.Message))
		}
		size += n
		if i > 0 && e.Timestamp < events[i-1].Timestamp {
			return errorf(400, "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > MaxPutBytes {
		return errorf(400, "InvalidParameterException", "Upload too large: %d bytes exceeds limit of %d", size, MaxPutBytes)
	}
	span := time.Duration(events[len(events)-1].Timestamp-events[0].Timestamp) * time.Millisecond
	if span > maxPutSpan {
		return errorf(400, "InvalidParameterException", "A batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	return nil
}

func (s *Server) describeLogStreams(body []byte) (any, *apiError) {
	var in struct {
		LogGroupName        string `json:"logGroupName"`
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	g, err := s.group(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	streams := []map[string]any{}
	for name := range g.streams {
		if strings.HasPrefix(name, in.LogStreamNamePrefix) {
			streams = append(streams, map[string]any{"logStreamName": name})
		}
	}
	return map[string]any{"logStreams": streams}, nil
}

// getLogEvents returns a whole stream in one page; asked again with the
// token it gave, it answers no events and the same token, which is how
// the service says the stream's end is reached.
func (s *Server) getLogEvents(body []byte) (any, *apiError) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
		NextToken     string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	g, err := s.group(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	events, ok := g.streams[in.LogStreamName]
	if !ok {
		return nil, errorf(400, "ResourceNotFoundException", "The specified log stream does not exist.")
	}
	if in.NextToken == "f/end" {
		events = nil
	}
	out := []map[string]any{}
	for _, e := range events {
		out = append(out, map[string]any{"timestamp": e.Timestamp, "message": e.Message, "ingestionTime": e.Timestamp})
	}
	return map[string]any{"events": out, "nextForwardToken": "f/end", "nextBackwardToken": "b/start"}, nil
}
