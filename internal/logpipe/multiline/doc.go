// Package multiline is Fluent Bit's multiline filter with its built-in
// parsers (multiline.parser go, java, python, ruby, cri): it joins the
// lines of a stack trace, or the partial lines of a CRI log, into one
// record, as Fluent Bit does for the same config.
//
// The regex parsers are Fluent Bit's state machines
// (src/multiline/flb_ml_parser_*.c) run by the same rules
// (flb_ml_rule.c): a line matching a start rule begins a message, lines
// matching a rule that may follow the last one join it with "\n", and a
// line that does neither ends it. A pending message is also emitted on
// Flush (the router calls it after flush_ms without a line) and when it
// would pass the buffer limit.
package multiline
