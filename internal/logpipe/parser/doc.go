// Package parser builds the parsers of a Fluent Bit configuration's
// [PARSER] sections (Format regex, json, logfmt, ltsv), behaving as
// Fluent Bit's do on the same text: which fields come out, of which type,
// and which record time.
//
// Fluent Bit's regexes run on Onigmo with Ruby syntax; fargo runs them on
// Go's RE2 through package rubyregex, which translates named groups, line
// anchors and Ruby's option letters and refuses what RE2 cannot do
// (backreferences, lookaround, possessive quantifiers, atomic groups) with
// a message naming the construct, at apply time too (rubyregex.Check).
//
// Time_Format is read by this package's own strptime, which follows
// Fluent Bit's (a BSD strptime plus %L for fractions of a second).
package parser
