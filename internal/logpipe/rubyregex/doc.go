// Package rubyregex runs the regular expressions of a Fluent Bit
// configuration on Go's RE2. Fluent Bit runs them on Onigmo with Ruby
// syntax, so a pattern is translated before Go compiles it:
//
//   - ^ and $ match at every line boundary, as in Ruby: the pattern runs
//     with Go's (?m);
//   - (?<name>re) and (?'name're) are named groups: written (?P<name>re);
//   - Ruby's m option (dot matches a newline) is Go's s, in (?m) and
//     (?m:...) groups and in the /re/imx delimiter form Fluent Bit accepts;
//   - \h, \H, \Z, \R, \e and {,n} get their RE2 equivalents; (?#...)
//     comments are dropped.
//
// What RE2 cannot run (backreferences, lookaround, possessive
// quantifiers, atomic and conditional groups, nested classes and &&
// intersections, extended mode) is refused with a message naming the
// construct and the rewrite to use. Check runs the same translation, so
// the ConfigMap validator shows at apply time the error the router would
// hit at start.
package rubyregex
