package es

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
	"github.com/fargo-dev/fargo/internal/logpipe/strftime"
)

// bulkBody writes records as a _bulk request: an action line and a
// document line for each, NDJSON.
func (s settings) bulkBody(recs []logpipe.Record, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	for _, rec := range recs {
		action, doc, err := s.lines(rec, now)
		if err != nil {
			return nil, err
		}
		buf.Write(action)
		buf.WriteByte('\n')
		buf.Write(doc)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// lines returns a record's action line and document line.
func (s settings) lines(rec logpipe.Record, now time.Time) ([]byte, []byte, error) {
	doc := s.document(rec)
	meta := map[string]any{"_index": s.indexName(rec, now)}
	if !s.suppressType {
		meta["_type"] = s.typeName
	}
	if id := s.documentID(rec); id != "" {
		meta["_id"] = id
	}
	op := s.operation
	var body any = doc
	switch op {
	case "update":
		body = map[string]any{"doc": doc}
	case "upsert":
		op, body = "update", map[string]any{"doc": doc, "doc_as_upsert": true}
	}
	action, err := httpout.MarshalJSON(map[string]any{op: meta})
	if err != nil {
		return nil, nil, err
	}
	line, err := httpout.MarshalJSON(body)
	return action, line, err
}

// document is the record as Elasticsearch stores it: its fields, the
// time at Time_Key, the tag at Tag_Key (Include_Tag_Key), dots in keys
// replaced (Replace_Dots).
func (s settings) document(rec logpipe.Record) map[string]any {
	doc := rec.Clone().Fields
	if doc == nil {
		doc = map[string]any{}
	}
	doc[s.timeKey] = s.timestamp(rec.Time)
	if s.includeTag {
		doc[s.tagKey] = rec.Tag
	}
	if s.replaceDots {
		doc = replaceDots(doc)
	}
	return doc
}

// timestamp writes t as Fluent Bit writes Time_Key: Time_Key_Format in
// UTC, then milliseconds (nanoseconds with Time_Key_Nanos) and Z.
func (s settings) timestamp(t time.Time) string {
	t = t.UTC()
	if s.timeKeyNanos {
		return strftime.Format(s.timeKeyFormat, t) + fmt.Sprintf(".%09dZ", t.Nanosecond())
	}
	return strftime.Format(s.timeKeyFormat, t) + fmt.Sprintf(".%03dZ", t.Nanosecond()/1e6)
}

// indexName is Index, or with Logstash_Format the prefix (from
// Logstash_Prefix_Key when the record has it), the separator and the
// record's UTC date (today's with Current_Time_Index).
func (s settings) indexName(rec logpipe.Record, now time.Time) string {
	if !s.logstash {
		return s.index
	}
	prefix := s.logstashPrefix
	if s.logstashKey != nil {
		if v, ok := s.logstashKey.Text(rec.Fields); ok && v != "" {
			prefix = v
		}
	}
	t := rec.Time
	if s.currentTimeIndex {
		t = now
	}
	return prefix + s.logstashSep + strftime.Format(s.logstashDate, t.UTC())
}

// documentID is the record's _id: the value at Id_Key, or with
// Generate_ID a hash of the record, so a retried record overwrites (or,
// with create, is refused as a duplicate of) the first copy.
func (s settings) documentID(rec logpipe.Record) string {
	if s.idKey != nil {
		if v, ok := s.idKey.Text(rec.Fields); ok && v != "" {
			return v
		}
	}
	if !s.generateID {
		return ""
	}
	fields, _ := httpout.MarshalJSON(rec.Fields) // sorted keys: the same record hashes the same
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", rec.Tag, rec.Time.UnixNano())
	h.Write(fields)
	sum := h.Sum(nil)
	return fmt.Sprintf("%X-%X-%X-%X-%X", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// replaceDots replaces . with _ in keys, nested maps included:
// Elasticsearch reads a dotted key as an object path.
func replaceDots(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = replaceDots(sub)
		}
		out[strings.ReplaceAll(k, ".", "_")] = v
	}
	return out
}
