package es

import (
	"fmt"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// settings are the es keys that shape documents and their bulk actions.
type settings struct {
	index            string
	typeName         string
	suppressType     bool
	logstash         bool
	logstashPrefix   string
	logstashKey      logpipe.Accessor
	logstashSep      string
	logstashDate     string
	currentTimeIndex bool
	timeKey          string
	timeKeyFormat    string
	timeKeyNanos     bool
	includeTag       bool
	tagKey           string
	generateID       bool
	idKey            logpipe.Accessor
	replaceDots      bool
	operation        string
	pipeline         string
}

func readSettings(p logpipe.Params) (settings, error) {
	s := settings{
		index:          p.String("Index", "fluent-bit"),
		typeName:       p.String("Type", "_doc"),
		logstashPrefix: p.String("Logstash_Prefix", "logstash"),
		logstashSep:    p.String("Logstash_Prefix_Separator", "-"),
		logstashDate:   p.String("Logstash_DateFormat", "%Y.%m.%d"),
		timeKey:        p.String("Time_Key", "@timestamp"),
		timeKeyFormat:  p.String("Time_Key_Format", "%Y-%m-%dT%H:%M:%S"),
		tagKey:         p.String("Tag_Key", "_flb-key"),
		pipeline:       p.String("Pipeline", ""),
	}
	bools := []struct {
		key string
		dst *bool
	}{
		{"Suppress_Type_Name", &s.suppressType},
		{"Logstash_Format", &s.logstash},
		{"Current_Time_Index", &s.currentTimeIndex},
		{"Time_Key_Nanos", &s.timeKeyNanos},
		{"Include_Tag_Key", &s.includeTag},
		{"Generate_ID", &s.generateID},
		{"Replace_Dots", &s.replaceDots},
	}
	for _, b := range bools {
		v, err := p.Bool(b.key, false)
		if err != nil {
			return s, err
		}
		*b.dst = v
	}
	var err error
	if k := p.String("Logstash_Prefix_Key", ""); k != "" {
		if s.logstashKey, err = logpipe.ParseAccessor(k); err != nil {
			return s, fmt.Errorf("Logstash_Prefix_Key: %w", err)
		}
	}
	if k := p.String("Id_Key", ""); k != "" {
		if s.idKey, err = logpipe.ParseAccessor(k); err != nil {
			return s, fmt.Errorf("Id_Key: %w", err)
		}
	}
	if !s.logstash && s.index == "" {
		return s, fmt.Errorf("Index is empty: name the index, or set Logstash_Format On")
	}
	return s, s.readOperation(p)
}

func (s *settings) readOperation(p logpipe.Params) error {
	s.operation = strings.ToLower(strings.TrimSpace(p.String("Write_Operation", "create")))
	switch s.operation {
	case "create", "index":
		return nil
	case "update", "upsert":
		if !s.generateID && s.idKey == nil {
			return fmt.Errorf("Write_Operation %s needs document ids: set Generate_ID On or Id_Key", s.operation)
		}
		return nil
	}
	return fmt.Errorf("Write_Operation is %q: write create, index, update or upsert", s.operation)
}

// refuseUnsupported names keys fargo does not carry out, with what to
// write instead.
func refuseUnsupported(p logpipe.Params) error {
	if _, ok := p.Get("Cloud_ID"); ok {
		return fmt.Errorf("Cloud_ID is not supported by fargo: set Host to the deployment's Elasticsearch endpoint, Port 443, tls On, and HTTP_User/HTTP_Passwd")
	}
	if _, ok := p.Get("Cloud_Auth"); ok {
		return fmt.Errorf("Cloud_Auth is not supported by fargo: set HTTP_User and HTTP_Passwd")
	}
	return nil
}
