// Package file is Fluent Bit's file output for fargo's log router: it
// appends records to Path/File (File defaults to the record's tag, so
// each tag gets its own file), creating Path first when mkdir is On.
//
// Formats, as Fluent Bit writes them:
//
//	out_file (default)  tag: [1700000000.123456, {"log":"hello"}]
//	plain               {"log":"hello"}
//	csv                 1700000000.123456,"hello"   (Delimiter; csv_column_names)
//	ltsv                "time":1700000000.123456	"log":"hello"   (Delimiter, Label_Delimiter)
//	template            Template with {time} and {key} filled in (default "{time} {message}")
//
// Fluent Bit writes csv and ltsv fields in the record's order; Go maps
// have none, so fargo writes them sorted by key. Format msgpack is
// refused (fargo writes text only).
//
// Each file gets one append per batch; a retried batch is appended again.
package file
