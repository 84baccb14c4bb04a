package filter

import (
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// keyPattern is a Remove_key or Allowlist_key value: a key name compared
// ignoring case, or a prefix when it ends in * (as filter_modifier.c
// does).
type keyPattern struct {
	key    string
	prefix bool
}

func (k keyPattern) matches(name string) bool {
	if k.prefix {
		return len(name) >= len(k.key) && strings.EqualFold(name[:len(k.key)], k.key)
	}
	return strings.EqualFold(name, k.key)
}

type recordField struct{ key, value string }

// recordModifier appends fixed fields and removes or keeps listed keys.
type recordModifier struct {
	records   []recordField
	remove    []keyPattern
	allowlist []keyPattern
	uuidKey   string
}

func newRecordModifier(p logpipe.Params) (*recordModifier, error) {
	f := &recordModifier{uuidKey: strings.TrimSpace(p.String("Uuid_key", ""))}
	for _, v := range p.All("Record") {
		toks, err := splitTokens(v, 2, slistQuotes)
		if err != nil {
			return nil, errorf("record_modifier", "Record %q: %v", v, err)
		}
		if len(toks) != 2 {
			return nil, errorf("record_modifier", `Record %q: write KEY VALUE, quoting a value with spaces: Record message "hello world"`, v)
		}
		// A ${VAR} stays as written: the ConfigMap validator refuses it
		// before it gets here, and fargo has no Fluent Bit environment to
		// expand it from.
		f.records = append(f.records, recordField{toks[0], toks[1]})
	}
	f.remove = keyPatterns(p.All("Remove_key"))
	f.allowlist = keyPatterns(append(p.All("Allowlist_key"), p.All("Whitelist_key")...))
	if len(f.remove) > 0 && len(f.allowlist) > 0 {
		return nil, errorf("record_modifier", "Remove_key and Allowlist_key cannot be used together: keep one kind, or use two record_modifier filters")
	}
	if len(f.records) == 0 && len(f.remove) == 0 && len(f.allowlist) == 0 && f.uuidKey == "" {
		return nil, errorf("record_modifier", `Record, Remove_key or Allowlist_key is required: add a line such as "Record cluster my-cluster"`)
	}
	return f, nil
}

func keyPatterns(values []string) []keyPattern {
	var out []keyPattern
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		k, isPrefix := strings.CutSuffix(v, "*")
		out = append(out, keyPattern{key: k, prefix: isPrefix})
	}
	return out
}

func matchesAny(pats []keyPattern, name string) bool {
	for _, p := range pats {
		if p.matches(name) {
			return true
		}
	}
	return false
}

func (f *recordModifier) Filter(rec logpipe.Record) []logpipe.Record {
	for k := range rec.Fields {
		if matchesAny(f.remove, k) || (len(f.allowlist) > 0 && !matchesAny(f.allowlist, k)) {
			delete(rec.Fields, k)
		}
	}
	if rec.Fields == nil {
		rec.Fields = map[string]any{}
	}
	// Fluent Bit appends Record fields after the kept ones, so an existing
	// key of the same name is written twice and readers take the later;
	// here the Record value replaces it.
	for _, r := range f.records {
		rec.Fields[r.key] = r.value
	}
	if f.uuidKey != "" {
		rec.Fields[f.uuidKey] = uuidV4()
	}
	return []logpipe.Record{rec}
}

// uuidV4 returns a random UUID as Fluent Bit's flb_utils_uuid_v4_gen
// writes it.
func uuidV4() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
